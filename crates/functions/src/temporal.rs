//! Date/time text handling: Snowflake's AUTO input formats, epoch magnitude
//! rules, and the date/time format language (YYYY, MM, MON, DD, HH24, MI, SS,
//! FF3, AM, TZH:TZM, "quoted literals", …) for both formatting and parsing.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

pub(crate) const NANOS_PER_SEC: i64 = 1_000_000_000;
pub(crate) const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub(crate) fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

pub(crate) fn days_to_date(days: i32) -> NaiveDate {
    epoch_date() + TimeDelta::days(days as i64)
}

pub(crate) fn date_to_days(d: NaiveDate) -> i32 {
    (d - epoch_date()).num_days() as i32
}

pub(crate) fn ns_to_dt(ns: i64) -> NaiveDateTime {
    DateTime::from_timestamp_nanos(ns).naive_utc()
}

pub(crate) fn dt_to_ns(dt: NaiveDateTime) -> Option<i64> {
    dt.and_utc().timestamp_nanos_opt()
}

pub(crate) fn time_to_ns(t: NaiveTime) -> i64 {
    t.num_seconds_from_midnight() as i64 * NANOS_PER_SEC + t.nanosecond() as i64
}

pub(crate) fn ns_to_time(ns: i64) -> NaiveTime {
    let ns = ns.rem_euclid(NANOS_PER_DAY);
    NaiveTime::from_num_seconds_from_midnight_opt(
        (ns / NANOS_PER_SEC) as u32,
        (ns % NANOS_PER_SEC) as u32,
    )
    .unwrap_or(NaiveTime::MIN)
}

pub(crate) fn month_abbr(m: u32) -> &'static str {
    &MONTHS[(m as usize + 11) % 12][..3]
}

pub(crate) fn day_abbr(d: NaiveDate) -> &'static str {
    &DAYS[d.weekday().num_days_from_monday() as usize][..3]
}

pub(crate) fn fmt_date(days: i32) -> String {
    days_to_date(days).format("%Y-%m-%d").to_string()
}

/// 'YYYY-MM-DD HH24:MI:SS.FF3', plus ' +0000' for time-zone-aware values.
pub(crate) fn fmt_ts(ns: i64, tz: bool) -> String {
    let s = ns_to_dt(ns).format("%Y-%m-%d %H:%M:%S%.3f").to_string();
    if tz { format!("{s} +0000") } else { s }
}

pub(crate) fn fmt_time(ns: i64) -> String {
    ns_to_time(ns).format("%H:%M:%S").to_string()
}

/// Snowflake's rule for integers given to TO_TIMESTAMP / TO_DATE: the
/// magnitude decides seconds, milliseconds, microseconds or nanoseconds.
pub(crate) fn epoch_to_ns(v: i64) -> Option<i64> {
    if v < 31_536_000_000 {
        v.checked_mul(NANOS_PER_SEC)
    } else if v < 31_536_000_000_000 {
        v.checked_mul(1_000_000)
    } else if v < 31_536_000_000_000_000 {
        v.checked_mul(1_000)
    } else {
        Some(v)
    }
}

/// Epoch value with an explicit scale (0 = seconds … 9 = nanoseconds).
pub(crate) fn scaled_epoch_to_ns(v: i64, scale: i64) -> Option<i64> {
    if !(0..=9).contains(&scale) {
        return None;
    }
    v.checked_mul(10i64.pow((9 - scale) as u32))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + (c - b'0') as i64;
                    self.i += 1;
                }
                _ => break,
            }
        }
        let n = self.i - start;
        if n < min { None } else { Some((v, n)) }
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// Parses `HH:MI[:SS[.fffffffff]]` at the cursor.
fn parse_clock(c: &mut Cursor) -> Option<NaiveTime> {
    let (h, _) = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let (mi, _) = c.digits(2, 2)?;
    let mut sec = 0;
    let mut nanos = 0;
    if c.eat(b':') {
        sec = c.digits(2, 2)?.0;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let (v, n) = c.digits(0, 9)?;
            nanos = v * 10i64.pow((9 - n) as u32);
            while matches!(c.peek(), Some(b'0'..=b'9')) {
                c.i += 1;
            }
            if c.i == start {
                nanos = 0;
            }
        }
    }
    NaiveTime::from_hms_nano_opt(h as u32, mi as u32, sec as u32, nanos as u32)
}

/// Parses a time-zone suffix: `Z`, `±HH`, `±HH:MM`, `±HHMM`. Returns seconds east of UTC.
fn parse_offset(c: &mut Cursor) -> Option<i32> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Some(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let (h, n) = c.digits(1, 4)?;
    let (h, m) = if n > 2 {
        (h / 100, h % 100)
    } else if c.eat(b':') {
        (h, c.digits(2, 2)?.0)
    } else {
        (h, 0)
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i32 * 3600 + m as i32 * 60))
}

fn parse_iso_date(c: &mut Cursor) -> Option<NaiveDate> {
    let neg = c.eat(b'-');
    let (y, _) = c.digits(4, 5)?;
    if !c.eat(b'-') {
        return None;
    }
    let (m, _) = c.digits(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let (d, _) = c.digits(1, 2)?;
    NaiveDate::from_ymd_opt(if neg { -y } else { y } as i32, m as u32, d as u32)
}

/// Parses Snowflake's AUTO timestamp forms. Returns the wall-clock time and
/// the explicit offset (seconds east of UTC), if one was given.
pub(crate) fn parse_auto_timestamp(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let s = s.trim();
    let mut c = Cursor { b: s.as_bytes(), i: 0 };
    if let Some(d) = parse_iso_date(&mut c) {
        if c.done() {
            return Some((d.and_time(NaiveTime::MIN), None));
        }
        if !(c.eat(b'T') || c.eat(b' ')) {
            return None;
        }
        c.skip_spaces();
        let t = parse_clock(&mut c)?;
        c.skip_spaces();
        let off = if c.done() { None } else { Some(parse_offset(&mut c)?) };
        c.skip_spaces();
        return c.done().then_some((d.and_time(t), off));
    }
    // Less common forms.
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some((dt.naive_utc(), Some(0)));
    }
    for f in ["%m/%d/%Y %H:%M:%S%.f", "%m/%d/%Y %H:%M", "%d-%b-%Y %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some((dt, None));
        }
    }
    parse_other_date(s).map(|d| (d.and_time(NaiveTime::MIN), None))
}

fn parse_other_date(s: &str) -> Option<NaiveDate> {
    for f in ["%m/%d/%Y", "%d-%b-%Y", "%Y/%m/%d", "%d-%B-%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d);
        }
    }
    None
}

/// Parses Snowflake's AUTO date forms (timestamps are truncated to their date).
pub(crate) fn parse_auto_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let mut c = Cursor { b: t.as_bytes(), i: 0 };
    if let Some(d) = parse_iso_date(&mut c)
        && c.done()
    {
        return Some(d);
    }
    parse_auto_timestamp(t).map(|(dt, _)| dt.date())
}

/// Parses a time of day: `HH:MI[:SS[.f]]` (or a full timestamp, keeping its time).
pub(crate) fn parse_auto_time(s: &str) -> Option<NaiveTime> {
    let t = s.trim();
    let mut c = Cursor { b: t.as_bytes(), i: 0 };
    if let Some(tm) = parse_clock(&mut c) {
        c.skip_spaces();
        if c.done() {
            return Some(tm);
        }
        let pm = t[c.i..].eq_ignore_ascii_case("PM");
        if pm || t[c.i..].eq_ignore_ascii_case("AM") {
            let h = tm.hour() % 12 + if pm { 12 } else { 0 };
            return tm.with_hour(h);
        }
        return None;
    }
    parse_auto_timestamp(t).map(|(dt, _)| dt.time())
}

/// A token of Snowflake's date/time format language.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Lit(String),
    Yyyy,
    Yy,
    Mm,
    Mon,
    Mmmm,
    Dd,
    Dy,
    Hh24,
    Hh12,
    AmPm,
    Mi,
    Ss,
    Ff(u8),
    Tzh,
    Tzm,
}

/// Tokenises a Snowflake date/time format string.
pub(crate) fn tokenize_format(fmt: &str) -> Vec<Tok> {
    let up = fmt.to_ascii_uppercase();
    let u = up.as_bytes();
    let chars = fmt.as_bytes();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let starts = |i: usize, p: &str| u[i..].starts_with(p.as_bytes());
    while i < u.len() {
        let (tok, len) = if chars[i] == b'"' {
            let end = fmt[i + 1..].find('"').map(|e| i + 1 + e).unwrap_or(fmt.len());
            lit.push_str(&fmt[i + 1..end]);
            i = (end + 1).min(fmt.len());
            continue;
        } else if starts(i, "YYYY") {
            (Tok::Yyyy, 4)
        } else if starts(i, "YY") {
            (Tok::Yy, 2)
        } else if starts(i, "MMMM") {
            (Tok::Mmmm, 4)
        } else if starts(i, "MON") {
            (Tok::Mon, 3)
        } else if starts(i, "MM") {
            (Tok::Mm, 2)
        } else if starts(i, "MI") {
            (Tok::Mi, 2)
        } else if starts(i, "DD") {
            (Tok::Dd, 2)
        } else if starts(i, "DY") {
            (Tok::Dy, 2)
        } else if starts(i, "HH24") {
            (Tok::Hh24, 4)
        } else if starts(i, "HH12") {
            (Tok::Hh12, 4)
        } else if starts(i, "HH") {
            (Tok::Hh24, 2)
        } else if starts(i, "AM") || starts(i, "PM") {
            (Tok::AmPm, 2)
        } else if starts(i, "SS") {
            (Tok::Ss, 2)
        } else if starts(i, "FF") {
            match u.get(i + 2) {
                Some(d @ b'0'..=b'9') => (Tok::Ff(d - b'0'), 3),
                _ => (Tok::Ff(9), 2),
            }
        } else if starts(i, "TZH") {
            (Tok::Tzh, 3)
        } else if starts(i, "TZM") {
            (Tok::Tzm, 3)
        } else {
            let ch = fmt[i..].chars().next().unwrap_or(' ');
            lit.push(ch);
            i += ch.len_utf8();
            continue;
        };
        if !lit.is_empty() {
            out.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        out.push(tok);
        i += len;
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

/// Formats a wall-clock time with format tokens; `offset` is seconds east of UTC.
pub(crate) fn format_tokens(dt: NaiveDateTime, offset: i32, toks: &[Tok]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for t in toks {
        let _ = match t {
            Tok::Lit(l) => write!(s, "{l}"),
            Tok::Yyyy => write!(s, "{:04}", dt.year()),
            Tok::Yy => write!(s, "{:02}", dt.year().rem_euclid(100)),
            Tok::Mm => write!(s, "{:02}", dt.month()),
            Tok::Mon => write!(s, "{}", month_abbr(dt.month())),
            Tok::Mmmm => write!(s, "{}", MONTHS[dt.month0() as usize]),
            Tok::Dd => write!(s, "{:02}", dt.day()),
            Tok::Dy => write!(s, "{}", day_abbr(dt.date())),
            Tok::Hh24 => write!(s, "{:02}", dt.hour()),
            Tok::Hh12 => write!(s, "{:02}", (dt.hour() + 11) % 12 + 1),
            Tok::AmPm => write!(s, "{}", if dt.hour() < 12 { "AM" } else { "PM" }),
            Tok::Mi => write!(s, "{:02}", dt.minute()),
            Tok::Ss => write!(s, "{:02}", dt.second()),
            Tok::Ff(n) => {
                let n = (*n).clamp(0, 9) as u32;
                if n == 0 {
                    Ok(())
                } else {
                    let v = dt.nanosecond() % 1_000_000_000 / 10u32.pow(9 - n);
                    write!(s, "{:0width$}", v, width = n as usize)
                }
            }
            Tok::Tzh => {
                let sign = if offset < 0 { '-' } else { '+' };
                write!(s, "{sign}{:02}", offset.abs() / 3600)
            }
            Tok::Tzm => write!(s, "{:02}", offset.abs() % 3600 / 60),
        };
    }
    s
}

/// Parses `s` with format tokens. Returns the wall-clock time and explicit offset.
pub(crate) fn parse_tokens(s: &str, toks: &[Tok]) -> Option<(NaiveDateTime, Option<i32>)> {
    let mut c = Cursor { b: s.trim().as_bytes(), i: 0 };
    let (mut y, mut mo, mut d) = (1970i64, 1u32, 1u32);
    let (mut h, mut mi, mut sec, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut off: Option<i32> = None;
    let mut tz_sign = 1;
    let word = |c: &mut Cursor| -> String {
        let start = c.i;
        while matches!(c.peek(), Some(ch) if ch.is_ascii_alphabetic()) {
            c.i += 1;
        }
        String::from_utf8_lossy(&c.b[start..c.i]).to_ascii_lowercase()
    };
    for t in toks {
        match t {
            Tok::Lit(l) => {
                for ch in l.bytes() {
                    if !(c.eat(ch) || (ch.is_ascii_alphabetic() && c.eat(ch.to_ascii_lowercase()))) {
                        if ch == b' ' {
                            continue;
                        }
                        return None;
                    }
                }
            }
            Tok::Yyyy => y = c.digits(1, 4)?.0,
            Tok::Yy => {
                let (v, n) = c.digits(1, 4)?;
                y = if n <= 2 { if v < 70 { 2000 + v } else { 1900 + v } } else { v };
            }
            Tok::Mm => mo = c.digits(1, 2)?.0 as u32,
            Tok::Mon | Tok::Mmmm => {
                let w = word(&mut c);
                let idx = MONTHS.iter().position(|m| {
                    let m = m.to_ascii_lowercase();
                    w == m || (w.len() == 3 && m.starts_with(&w))
                })?;
                mo = idx as u32 + 1;
            }
            Tok::Dd => d = c.digits(1, 2)?.0 as u32,
            Tok::Dy => {
                word(&mut c);
            }
            Tok::Hh24 | Tok::Hh12 => h = c.digits(1, 2)?.0 as u32,
            Tok::AmPm => {
                let w = word(&mut c);
                pm = Some(match w.as_str() {
                    "am" => false,
                    "pm" => true,
                    _ => return None,
                });
            }
            Tok::Mi => mi = c.digits(1, 2)?.0 as u32,
            Tok::Ss => sec = c.digits(1, 2)?.0 as u32,
            Tok::Ff(_) => {
                if let Some((v, n)) = c.digits(1, 9) {
                    nanos = (v * 10i64.pow(9 - n as u32)) as u32;
                }
                while matches!(c.peek(), Some(b'0'..=b'9')) {
                    c.i += 1;
                }
            }
            Tok::Tzh => {
                tz_sign = if c.eat(b'-') { -1 } else { c.eat(b'+'); 1 };
                let (v, _) = c.digits(1, 2)?;
                off = Some(tz_sign * v as i32 * 3600);
            }
            Tok::Tzm => {
                let (v, _) = c.digits(1, 2)?;
                off = Some(off.unwrap_or(0) + tz_sign * v as i32 * 60);
            }
        }
    }
    c.skip_spaces();
    if !c.done() {
        return None;
    }
    if let Some(pm) = pm {
        h = h % 12 + if pm { 12 } else { 0 };
    }
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    let time = NaiveTime::from_hms_nano_opt(h, mi, sec, nanos)?;
    Some((date.and_time(time), off))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_forms() {
        let (dt, off) = parse_auto_timestamp("2024-01-02T03:04:05.123Z").unwrap();
        assert_eq!(dt.to_string(), "2024-01-02 03:04:05.123");
        assert_eq!(off, Some(0));
        let (_, off) = parse_auto_timestamp("2024-01-02 03:04:05 +02:00").unwrap();
        assert_eq!(off, Some(7200));
        assert!(parse_auto_timestamp("2024-13-02").is_none());
        assert_eq!(parse_auto_date("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(parse_auto_time("13:14:15.5").unwrap().to_string(), "13:14:15.500");
    }

    #[test]
    fn format_round_trip() {
        let toks = tokenize_format("DD-MON-YYYY HH12:MI:SS.FF3 AM \"lit\"");
        let dt = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap().and_hms_milli_opt(15, 4, 5, 120).unwrap();
        let s = format_tokens(dt, 0, &toks);
        assert_eq!(s, "05-Mar-2024 03:04:05.120 PM lit");
        assert_eq!(parse_tokens(&s, &toks).unwrap().0, dt);
    }
}
