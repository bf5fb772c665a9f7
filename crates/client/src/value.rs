//! Column metadata and decoding of result values.
//!
//! Snowflake's JSON result format sends every value as a string (or null)
//! whose encoding depends on the column type in `rowtype`: dates as days
//! since the epoch, timestamps as `epochSeconds.fraction`, booleans as
//! `1`/`0`, binary as hex and so on. This module turns those strings into
//! display text (for table and CSV output) and into JSON values (for
//! `--format json`). Date arithmetic is done by hand, without chrono.

use serde_json::Value;

/// The logical type of a result column, from `rowtype[].type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColType {
    Fixed,
    Real,
    Text,
    Boolean,
    Date,
    Time,
    TimestampNtz,
    TimestampLtz,
    TimestampTz,
    Binary,
    Variant,
    Object,
    Array,
    /// Any type this client does not know; shown as sent.
    Other(String),
}

impl ColType {
    /// Maps a wire type name (case-insensitive) to a [`ColType`].
    pub fn from_wire(name: &str) -> ColType {
        match name.to_ascii_lowercase().as_str() {
            "fixed" => ColType::Fixed,
            "real" => ColType::Real,
            "text" => ColType::Text,
            "boolean" => ColType::Boolean,
            "date" => ColType::Date,
            "time" => ColType::Time,
            "timestamp_ntz" | "timestamp" => ColType::TimestampNtz,
            "timestamp_ltz" => ColType::TimestampLtz,
            "timestamp_tz" => ColType::TimestampTz,
            "binary" => ColType::Binary,
            "variant" => ColType::Variant,
            "object" => ColType::Object,
            "array" => ColType::Array,
            other => ColType::Other(other.to_string()),
        }
    }

    /// True for types whose values are right-aligned in tables.
    pub fn is_numeric(&self) -> bool {
        matches!(self, ColType::Fixed | ColType::Real)
    }
}

/// One entry of `rowtype`.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
    pub length: Option<i64>,
    pub nullable: Option<bool>,
}

impl Column {
    /// A column with the given name and type and no further metadata.
    pub fn new(name: &str, ty: ColType) -> Column {
        Column { name: name.to_string(), ty, precision: None, scale: None, length: None, nullable: None }
    }

    /// Same as [`Column::new`] with a scale.
    pub fn with_scale(name: &str, ty: ColType, scale: i64) -> Column {
        Column { scale: Some(scale), ..Column::new(name, ty) }
    }

    /// Reads one `rowtype` element; missing fields are tolerated.
    pub fn from_json(v: &Value) -> Column {
        let int = |k: &str| v.get(k).and_then(Value::as_i64);
        Column {
            name: v.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            ty: ColType::from_wire(v.get("type").and_then(Value::as_str).unwrap_or("text")),
            precision: int("precision"),
            scale: int("scale"),
            length: int("length"),
            nullable: v.get("nullable").and_then(Value::as_bool),
        }
    }

    /// Display text for a non-null wire value; undecodable values are shown
    /// as sent.
    pub fn display(&self, raw: &str) -> String {
        let decoded = match &self.ty {
            ColType::Boolean => decode_bool(raw).map(|b| if b { "TRUE" } else { "FALSE" }.to_string()),
            ColType::Date => raw.trim().parse::<i64>().ok().map(format_date),
            ColType::Time => format_time(raw, self.scale),
            ColType::TimestampNtz | ColType::TimestampLtz => format_timestamp(raw, self.scale),
            ColType::TimestampTz => format_timestamp_tz(raw, self.scale),
            ColType::Binary => Some(raw.to_ascii_uppercase()),
            _ => None,
        };
        decoded.unwrap_or_else(|| raw.to_string())
    }

    /// Display text for a possibly-null wire value (`None` stays `None`).
    pub fn display_opt(&self, raw: Option<&str>) -> Option<String> {
        raw.map(|r| self.display(r))
    }

    /// JSON value for `--format json`: numbers for fixed/real, parsed JSON for
    /// variant/object/array, null for NULL, display text otherwise.
    pub fn json(&self, raw: Option<&str>) -> Value {
        let Some(raw) = raw else { return Value::Null };
        match &self.ty {
            ColType::Fixed | ColType::Real => number_json(raw).unwrap_or_else(|| Value::String(raw.to_string())),
            ColType::Variant | ColType::Object | ColType::Array => {
                serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
            }
            _ => Value::String(self.display(raw)),
        }
    }
}

fn decode_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" => Some(true),
        "0" | "false" | "f" | "no" => Some(false),
        _ => None,
    }
}

/// Parses decimal text into a JSON number (integers exactly when they fit
/// 64 bits, everything else as f64); `None` if it is not a finite number.
fn number_json(raw: &str) -> Option<Value> {
    let t = raw.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(Value::from(u));
    }
    let f = t.parse::<f64>().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// Converts days since 1970-01-01 to a (year, month, day) civil date in the
/// proleptic Gregorian calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` for days since the epoch.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        format!("-{:04}-{m:02}-{d:02}", -y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Parses `[-]seconds[.fraction]` into whole nanoseconds.
pub fn parse_epoch_nanos(raw: &str) -> Option<i128> {
    let t = raw.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
    let mut frac = frac_part.chars().take(9).collect::<String>();
    while frac.len() < 9 {
        frac.push('0');
    }
    let nanos: i128 = frac.parse().ok()?;
    let total = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -total } else { total })
}

/// `.fff…` with `digits` digits of a nanosecond fraction (empty for 0 digits).
fn fraction(nanos: u32, digits: usize) -> String {
    if digits == 0 {
        return String::new();
    }
    let s = format!("{nanos:09}");
    format!(".{}", &s[..digits.min(9)])
}

fn digits_for(scale: Option<i64>, default: usize) -> usize {
    scale.map(|s| s.clamp(0, 9) as usize).unwrap_or(default)
}

/// `HH:MM:SS` plus `scale` fraction digits (default 9); the fraction is
/// left out when it is zero.
pub fn format_time(raw: &str, scale: Option<i64>) -> Option<String> {
    let total = parse_epoch_nanos(raw)?;
    let total = total.rem_euclid(86_400 * 1_000_000_000);
    let secs = (total / 1_000_000_000) as i64;
    let nanos = (total % 1_000_000_000) as u32;
    let frac = if nanos == 0 { String::new() } else { fraction(nanos, digits_for(scale, 9)) };
    Some(format!("{:02}:{:02}:{:02}{frac}", secs / 3600, secs / 60 % 60, secs % 60))
}

/// `YYYY-MM-DD HH:MM:SS.fff` for a nanosecond count since the epoch, with
/// `digits` fraction digits.
fn format_epoch_nanos(total: i128, digits: usize) -> String {
    let secs = total.div_euclid(1_000_000_000) as i64;
    let nanos = total.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}{}",
        format_date(days),
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        fraction(nanos, digits)
    )
}

/// Timestamp without time zone: `epochSeconds.fraction` →
/// `YYYY-MM-DD HH:MM:SS.fff` with `scale` fraction digits (default 3).
pub fn format_timestamp(raw: &str, scale: Option<i64>) -> Option<String> {
    let total = parse_epoch_nanos(raw)?;
    Some(format_epoch_nanos(total, digits_for(scale, 3)))
}

/// Timestamp with time zone: `epochSeconds.fraction offsetMinutes+1440` →
/// local wall time followed by ` +HH:MM`.
pub fn format_timestamp_tz(raw: &str, scale: Option<i64>) -> Option<String> {
    let mut parts = raw.split_whitespace();
    let total = parse_epoch_nanos(parts.next()?)?;
    let offset_min: i64 = match parts.next() {
        Some(o) => o.parse::<i64>().ok()? - 1440,
        None => 0,
    };
    let local = total + i128::from(offset_min) * 60 * 1_000_000_000;
    let sign = if offset_min < 0 { '-' } else { '+' };
    let abs = offset_min.abs();
    Some(format!(
        "{} {sign}{:02}:{:02}",
        format_epoch_nanos(local, digits_for(scale, 3)),
        abs / 60,
        abs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_date(19_782), "2024-02-29");
        assert_eq!(format_date(11_016), "2000-02-29");
        assert_eq!(format_date(-719_528), "0000-01-01");
        assert_eq!(format_date(2_932_896), "9999-12-31");
        let c = Column::new("D", ColType::Date);
        assert_eq!(c.display("19723"), "2024-01-01");
        assert_eq!(c.display("garbage"), "garbage");
    }

    #[test]
    fn epoch_parsing() {
        assert_eq!(parse_epoch_nanos("1.5"), Some(1_500_000_000));
        assert_eq!(parse_epoch_nanos("-1.5"), Some(-1_500_000_000));
        assert_eq!(parse_epoch_nanos("12"), Some(12_000_000_000));
        assert_eq!(parse_epoch_nanos("0.123456789123"), Some(123_456_789));
        assert_eq!(parse_epoch_nanos("abc"), None);
        assert_eq!(parse_epoch_nanos(""), None);
        assert_eq!(parse_epoch_nanos("1.2.3"), None);
    }

    #[test]
    fn times() {
        assert_eq!(format_time("45296", Some(0)).unwrap(), "12:34:56");
        assert_eq!(format_time("45296.000000000", Some(9)).unwrap(), "12:34:56");
        assert_eq!(format_time("45296.500000000", Some(3)).unwrap(), "12:34:56.500");
        assert_eq!(format_time("45296.123456789", Some(9)).unwrap(), "12:34:56.123456789");
        assert_eq!(format_time("45296.123456789", Some(0)).unwrap(), "12:34:56");
        assert_eq!(format_time("0", None).unwrap(), "00:00:00");
        assert_eq!(format_time("86399.5", None).unwrap(), "23:59:59.500000000");
        let c = Column::with_scale("T", ColType::Time, 3);
        assert_eq!(c.display("3723.25"), "01:02:03.250");
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp("0", None).unwrap(), "1970-01-01 00:00:00.000");
        assert_eq!(format_timestamp("1704067200.123456789", Some(9)).unwrap(), "2024-01-01 00:00:00.123456789");
        assert_eq!(format_timestamp("1704067200.123456789", None).unwrap(), "2024-01-01 00:00:00.123");
        assert_eq!(format_timestamp("1704067200", Some(0)).unwrap(), "2024-01-01 00:00:00");
        assert_eq!(format_timestamp("1710000000.5", Some(3)).unwrap(), "2024-03-09 16:00:00.500");
        assert_eq!(format_timestamp("-1.5", Some(3)).unwrap(), "1969-12-31 23:59:58.500");
        let c = Column::with_scale("TS", ColType::TimestampLtz, 3);
        assert_eq!(c.display("1704067200.000"), "2024-01-01 00:00:00.000");
    }

    #[test]
    fn timestamp_tz() {
        // 2024-01-01 00:00:00 UTC at +01:00 (offset 60 + 1440).
        assert_eq!(format_timestamp_tz("1704067200.000 1500", Some(3)).unwrap(), "2024-01-01 01:00:00.000 +01:00");
        // -05:30 → 1440 - 330 = 1110.
        assert_eq!(format_timestamp_tz("1704067200 1110", Some(0)).unwrap(), "2023-12-31 18:30:00 -05:30");
        assert_eq!(format_timestamp_tz("0 1440", None).unwrap(), "1970-01-01 00:00:00.000 +00:00");
        assert_eq!(format_timestamp_tz("0", None).unwrap(), "1970-01-01 00:00:00.000 +00:00");
        assert!(format_timestamp_tz("x 1440", None).is_none());
    }

    #[test]
    fn booleans_binary_text() {
        let b = Column::new("B", ColType::Boolean);
        assert_eq!(b.display("1"), "TRUE");
        assert_eq!(b.display("0"), "FALSE");
        assert_eq!(b.display("true"), "TRUE");
        assert_eq!(b.display("FALSE"), "FALSE");
        let x = Column::new("X", ColType::Binary);
        assert_eq!(x.display("deadbeef"), "DEADBEEF");
        let t = Column::new("S", ColType::Text);
        assert_eq!(t.display("abc"), "abc");
        let n = Column::with_scale("N", ColType::Fixed, 2);
        assert_eq!(n.display("1.50"), "1.50");
        assert_eq!(ColType::from_wire("TIMESTAMP_NTZ"), ColType::TimestampNtz);
        assert_eq!(ColType::from_wire("geography"), ColType::Other("geography".into()));
    }

    #[test]
    fn json_values() {
        let n = Column::new("N", ColType::Fixed);
        assert_eq!(n.json(Some("42")), json!(42));
        assert_eq!(n.json(Some("-7")), json!(-7));
        assert_eq!(n.json(Some("1.50")), json!(1.5));
        assert_eq!(n.json(None), Value::Null);
        let r = Column::new("R", ColType::Real);
        assert_eq!(r.json(Some("2.5")), json!(2.5));
        assert_eq!(r.json(Some("NaN")), json!("NaN"));
        let v = Column::new("V", ColType::Variant);
        assert_eq!(v.json(Some("{\"a\": [1, 2]}")), json!({"a": [1, 2]}));
        assert_eq!(v.json(Some("not json")), json!("not json"));
        let a = Column::new("A", ColType::Array);
        assert_eq!(a.json(Some("[1,\"x\"]")), json!([1, "x"]));
        let b = Column::new("B", ColType::Boolean);
        assert_eq!(b.json(Some("1")), json!("TRUE"));
        let d = Column::new("D", ColType::Date);
        assert_eq!(d.json(Some("0")), json!("1970-01-01"));
    }

    #[test]
    fn column_from_json() {
        let c = Column::from_json(&json!({"name": "X", "type": "fixed", "precision": 38, "scale": 0, "nullable": true}));
        assert_eq!(c.name, "X");
        assert_eq!(c.ty, ColType::Fixed);
        assert_eq!(c.precision, Some(38));
        assert_eq!(c.scale, Some(0));
        assert_eq!(c.nullable, Some(true));
        assert_eq!(c.length, None);
    }
}
