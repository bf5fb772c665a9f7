//! Date and time functions: DATEADD / TIMESTAMPADD, DATEDIFF / TIMESTAMPDIFF,
//! DATE_TRUNC, DATE_PART (also behind EXTRACT) and the YEAR()/MONTH()/…
//! shortcuts, LAST_DAY, ADD_MONTHS, DAYNAME, MONTHNAME, *_FROM_PARTS, SYSDATE
//! and GETDATE, with Snowflake's date-part names and boundary-counting rules.

use crate::error::{invalid_argument, timestamp_not_recognized};
use crate::rows::{
    Ctx, Func, Out, UTC, Val, lit_str, ret_date, ret_i64, ret_ltz, ret_ntz, ret_time, ret_utf8,
};
use crate::temporal::{
    NANOS_PER_DAY, date_to_days, day_abbr, days_to_date, dt_to_ns, month_abbr, ns_to_dt,
    ns_to_time, parse_auto_timestamp, time_to_ns,
};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{Expr, ScalarUDF, Volatility};
use std::sync::Arc;

/// A Snowflake date or time part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
    DayOfWeek,
    DayOfWeekIso,
    DayOfYear,
    WeekIso,
    YearOfWeek,
    YearOfWeekIso,
    EpochSecond,
    EpochMillisecond,
    EpochMicrosecond,
    EpochNanosecond,
    TimezoneHour,
    TimezoneMinute,
}

pub(crate) fn parse_part(s: &str) -> Option<Part> {
    use Part::*;
    let t = s.trim().trim_matches(['\'', '"']);
    let mut buf = [0u8; 24];
    if t.len() > buf.len() {
        return None;
    }
    buf[..t.len()].copy_from_slice(t.as_bytes());
    buf[..t.len()].make_ascii_lowercase();
    let l = std::str::from_utf8(&buf[..t.len()]).ok()?;
    Some(match l {
        "year" | "y" | "yy" | "yyy" | "yyyy" | "yr" | "years" | "yrs" => Year,
        "quarter" | "q" | "qtr" | "qtrs" | "quarters" => Quarter,
        "month" | "mm" | "mon" | "mons" | "months" => Month,
        "week" | "w" | "wk" | "weekofyear" | "woy" | "wy" | "weeks" => Week,
        "day" | "d" | "dd" | "days" | "dayofmonth" => Day,
        "hour" | "h" | "hh" | "hr" | "hours" | "hrs" => Hour,
        "minute" | "m" | "mi" | "min" | "minutes" | "mins" => Minute,
        "second" | "s" | "sec" | "seconds" | "secs" => Second,
        "millisecond" | "ms" | "msec" | "milliseconds" => Millisecond,
        "microsecond" | "us" | "usec" | "microseconds" => Microsecond,
        "nanosecond" | "ns" | "nsec" | "nanosec" | "nsecond" | "nanoseconds" | "nanosecs"
        | "nseconds" => Nanosecond,
        "dayofweek" | "weekday" | "dow" | "dw" => DayOfWeek,
        "dayofweekiso" | "weekday_iso" | "dow_iso" | "dw_iso" | "isodow" => DayOfWeekIso,
        "dayofyear" | "yearday" | "doy" | "dy" => DayOfYear,
        "weekiso" | "week_iso" | "weekofyeariso" | "weekofyear_iso" => WeekIso,
        "yearofweek" => YearOfWeek,
        "yearofweekiso" => YearOfWeekIso,
        "epoch_second" | "epoch" | "epoch_seconds" => EpochSecond,
        "epoch_millisecond" | "epoch_milliseconds" => EpochMillisecond,
        "epoch_microsecond" | "epoch_microseconds" => EpochMicrosecond,
        "epoch_nanosecond" | "epoch_nanoseconds" => EpochNanosecond,
        "timezone_hour" | "tzh" => TimezoneHour,
        "timezone_minute" | "tzm" => TimezoneMinute,
        _ => return None,
    })
}

fn part_arg(v: Val) -> Result<Part> {
    let s = match v {
        Val::Str(s) | Val::Json(s) => s,
        _ => return Err(invalid_argument("Date/time part must be a string")),
    };
    parse_part(s).ok_or_else(|| invalid_argument(format!("Invalid date/time part '{s}'")))
}

fn is_date_level(p: Part) -> bool {
    matches!(p, Part::Year | Part::Quarter | Part::Month | Part::Week | Part::Day)
}

/// A temporal argument as a wall-clock datetime (UTC for LTZ/TZ values).
pub(crate) fn read_datetime(v: Val) -> Result<Option<NaiveDateTime>> {
    Ok(match v {
        Val::Null => None,
        Val::Date(d) => Some(days_to_date(d).and_time(NaiveTime::MIN)),
        Val::Ts(ns, _) => Some(ns_to_dt(ns)),
        Val::Time(ns) => Some(crate::temporal::epoch_date().and_time(ns_to_time(ns))),
        Val::Str(s) => Some(parse_ts_text(s)?),
        Val::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::String(t)) => Some(parse_ts_text(&t)?),
            Ok(serde_json::Value::Null) => None,
            _ => return Err(timestamp_not_recognized(s)),
        },
        _ => return Err(timestamp_not_recognized(&format!("{v:?}"))),
    })
}

fn parse_ts_text(s: &str) -> Result<NaiveDateTime> {
    parse_auto_timestamp(s).map(|(dt, _)| dt).ok_or_else(|| timestamp_not_recognized(s))
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let first_next = NaiveDate::from_ymd_opt(ny, nm, 1).unwrap_or(NaiveDate::MAX);
    first_next.pred_opt().map(|d| d.day()).unwrap_or(28)
}

pub(crate) fn add_months_date(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    let total = d.year() as i64 * 12 + d.month0() as i64 + n;
    let y = i32::try_from(total.div_euclid(12)).ok()?;
    let m = total.rem_euclid(12) as u32 + 1;
    NaiveDate::from_ymd_opt(y, m, d.day().min(days_in_month(y, m)))
}

fn out_of_range() -> datafusion::error::DataFusionError {
    invalid_argument("Date/time value out of range")
}

pub(crate) fn add_part(dt: NaiveDateTime, part: Part, n: i64) -> Result<NaiveDateTime> {
    let months = |m: i64| {
        add_months_date(dt.date(), m).map(|d| d.and_time(dt.time())).ok_or_else(out_of_range)
    };
    let dur = |unit: i64| -> Result<NaiveDateTime> {
        let nanos = (n as i128) * (unit as i128);
        let secs = nanos.div_euclid(1_000_000_000) as i64;
        let rem = nanos.rem_euclid(1_000_000_000) as u32;
        let delta = TimeDelta::new(secs, rem).ok_or_else(out_of_range)?;
        dt.checked_add_signed(delta).ok_or_else(out_of_range)
    };
    match part {
        Part::Year | Part::YearOfWeek | Part::YearOfWeekIso => months(n.saturating_mul(12)),
        Part::Quarter => months(n.saturating_mul(3)),
        Part::Month => months(n),
        Part::Week | Part::WeekIso => dur(7 * NANOS_PER_DAY),
        Part::Day | Part::DayOfWeek | Part::DayOfWeekIso | Part::DayOfYear => dur(NANOS_PER_DAY),
        Part::Hour => dur(3_600_000_000_000),
        Part::Minute => dur(60_000_000_000),
        Part::Second | Part::EpochSecond => dur(1_000_000_000),
        Part::Millisecond | Part::EpochMillisecond => dur(1_000_000),
        Part::Microsecond | Part::EpochMicrosecond => dur(1_000),
        Part::Nanosecond | Part::EpochNanosecond => dur(1),
        Part::TimezoneHour | Part::TimezoneMinute => {
            Err(invalid_argument("Invalid date/time part for DATEADD"))
        }
    }
}

/// Output a datetime as the function's return type.
fn emit(dt: NaiveDateTime, ret: &DataType) -> Result<Out> {
    Ok(match ret {
        DataType::Date32 => Out::Date(date_to_days(dt.date())),
        DataType::Time64(_) => Out::Time(time_to_ns(dt.time())),
        _ => Out::Ts(dt_to_ns(dt).ok_or_else(out_of_range)?),
    })
}

fn n_arg(v: Val) -> Result<i64> {
    v.as_i64().ok_or_else(|| invalid_argument(format!("Invalid DATEADD amount {v:?}")))
}

// ---- DATEADD -----------------------------------------------------------------

fn dateadd_ret(t: &[DataType], lits: &[Option<&ScalarValue>]) -> Result<DataType> {
    let part = lit_str(lits, 0).and_then(parse_part);
    Ok(match &t[2] {
        DataType::Date32 if part.is_none_or(is_date_level) => DataType::Date32,
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
        DataType::Time64(_) => DataType::Time64(TimeUnit::Nanosecond),
        _ => DataType::Timestamp(TimeUnit::Nanosecond, None),
    })
}

fn dateadd_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let part = part_arg(v[0])?;
    let n = n_arg(v[1])?;
    if let Val::Time(ns) = v[2] {
        let base = crate::temporal::epoch_date().and_time(ns_to_time(ns));
        return Ok(Out::Time(time_to_ns(add_part(base, part, n)?.time())));
    }
    let Some(dt) = read_datetime(v[2])? else { return Ok(Out::Null) };
    emit(add_part(dt, part, n)?, ctx.ret)
}

fn add_months_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(match &t[0] {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
        _ => DataType::Date32,
    })
}

fn add_months_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(dt) = read_datetime(v[0])? else { return Ok(Out::Null) };
    let n = n_arg(v[1])?;
    let d = dt.date();
    let mut r = add_months_date(d, n).ok_or_else(out_of_range)?;
    if d.day() == days_in_month(d.year(), d.month()) {
        r = r.with_day(days_in_month(r.year(), r.month())).unwrap_or(r);
    }
    emit(r.and_time(dt.time()), ctx.ret)
}

// ---- DATEDIFF ----------------------------------------------------------------

fn total_nanos(dt: NaiveDateTime) -> i128 {
    dt.and_utc().timestamp() as i128 * 1_000_000_000 + dt.nanosecond() as i128
}

fn monday_days(d: NaiveDate) -> i64 {
    date_to_days(d) as i64 - d.weekday().num_days_from_monday() as i64
}

pub(crate) fn diff(part: Part, a: NaiveDateTime, b: NaiveDateTime) -> Result<i64> {
    let quarter = |d: NaiveDateTime| d.year() as i64 * 4 + d.month0() as i64 / 3;
    let months = |d: NaiveDateTime| d.year() as i64 * 12 + d.month0() as i64;
    let ticks = |unit: i128| {
        (total_nanos(b).div_euclid(unit) - total_nanos(a).div_euclid(unit)) as i64
    };
    Ok(match part {
        Part::Year | Part::YearOfWeek | Part::YearOfWeekIso => (b.year() - a.year()) as i64,
        Part::Quarter => quarter(b) - quarter(a),
        Part::Month => months(b) - months(a),
        Part::Week | Part::WeekIso => (monday_days(b.date()) - monday_days(a.date())) / 7,
        Part::Day | Part::DayOfWeek | Part::DayOfWeekIso | Part::DayOfYear => {
            (date_to_days(b.date()) - date_to_days(a.date())) as i64
        }
        Part::Hour => ticks(3_600_000_000_000),
        Part::Minute => ticks(60_000_000_000),
        Part::Second | Part::EpochSecond => ticks(1_000_000_000),
        Part::Millisecond | Part::EpochMillisecond => ticks(1_000_000),
        Part::Microsecond | Part::EpochMicrosecond => ticks(1_000),
        Part::Nanosecond | Part::EpochNanosecond => ticks(1),
        Part::TimezoneHour | Part::TimezoneMinute => {
            return Err(invalid_argument("Invalid date/time part for DATEDIFF"));
        }
    })
}

fn datediff_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let part = part_arg(v[0])?;
    let (Some(a), Some(b)) = (read_datetime(v[1])?, read_datetime(v[2])?) else {
        return Ok(Out::Null);
    };
    Ok(Out::Int(diff(part, a, b)?))
}

// ---- DATE_TRUNC --------------------------------------------------------------

fn date_trunc_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(match &t[1] {
        DataType::Date32 => DataType::Date32,
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
        DataType::Time64(_) => DataType::Time64(TimeUnit::Nanosecond),
        _ => DataType::Timestamp(TimeUnit::Nanosecond, None),
    })
}

pub(crate) fn trunc(dt: NaiveDateTime, part: Part) -> Result<NaiveDateTime> {
    let d = dt.date();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).map(midnight).ok_or_else(out_of_range);
    let sub_second = |unit: u32| {
        let ns = dt.nanosecond() % 1_000_000_000;
        dt.with_nanosecond(ns - ns % unit).ok_or_else(out_of_range)
    };
    match part {
        Part::Year | Part::YearOfWeek | Part::YearOfWeekIso => ymd(d.year(), 1),
        Part::Quarter => ymd(d.year(), d.month0() / 3 * 3 + 1),
        Part::Month => ymd(d.year(), d.month()),
        Part::Week | Part::WeekIso => Ok(midnight(
            d - TimeDelta::days(d.weekday().num_days_from_monday() as i64),
        )),
        Part::Day | Part::DayOfWeek | Part::DayOfWeekIso | Part::DayOfYear => Ok(midnight(d)),
        Part::Hour => Ok(d.and_hms_opt(dt.hour(), 0, 0).ok_or_else(out_of_range)?),
        Part::Minute => Ok(d.and_hms_opt(dt.hour(), dt.minute(), 0).ok_or_else(out_of_range)?),
        Part::Second | Part::EpochSecond => sub_second(1_000_000_000),
        Part::Millisecond | Part::EpochMillisecond => sub_second(1_000_000),
        Part::Microsecond | Part::EpochMicrosecond => sub_second(1_000),
        Part::Nanosecond | Part::EpochNanosecond | Part::TimezoneHour | Part::TimezoneMinute => {
            Ok(dt)
        }
    }
}

fn date_trunc_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let part = part_arg(v[0])?;
    if let Val::Date(d) = v[1]
        && !is_date_level(part)
    {
        return Ok(Out::Date(d));
    }
    let Some(dt) = read_datetime(v[1])? else { return Ok(Out::Null) };
    emit(trunc(dt, part)?, ctx.ret)
}

// ---- DATE_PART and shortcuts -------------------------------------------------

pub(crate) fn extract(dt: NaiveDateTime, part: Part) -> i64 {
    let d = dt.date();
    match part {
        Part::Year => d.year() as i64,
        Part::Quarter => d.month0() as i64 / 3 + 1,
        Part::Month => d.month() as i64,
        Part::Week | Part::WeekIso => d.iso_week().week() as i64,
        Part::Day => d.day() as i64,
        Part::Hour => dt.hour() as i64,
        Part::Minute => dt.minute() as i64,
        Part::Second => dt.second() as i64,
        Part::Millisecond => (dt.nanosecond() % 1_000_000_000 / 1_000_000) as i64,
        Part::Microsecond => (dt.nanosecond() % 1_000_000_000 / 1_000) as i64,
        Part::Nanosecond => (dt.nanosecond() % 1_000_000_000) as i64,
        Part::DayOfWeek => d.weekday().num_days_from_sunday() as i64,
        Part::DayOfWeekIso => d.weekday().number_from_monday() as i64,
        Part::DayOfYear => d.ordinal() as i64,
        Part::YearOfWeek | Part::YearOfWeekIso => d.iso_week().year() as i64,
        Part::EpochSecond => dt.and_utc().timestamp(),
        Part::EpochMillisecond => dt.and_utc().timestamp_millis(),
        Part::EpochMicrosecond => dt.and_utc().timestamp_micros(),
        Part::EpochNanosecond => (total_nanos(dt)).clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        Part::TimezoneHour | Part::TimezoneMinute => 0,
    }
}

fn date_part_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let part = part_arg(v[0])?;
    let Some(dt) = read_datetime(v[1])? else { return Ok(Out::Null) };
    Ok(Out::Int(extract(dt, part)))
}

macro_rules! part_fns {
    ($($f:ident => $p:ident),* $(,)?) => {
        $(fn $f(_: &Ctx, v: &[Val]) -> Result<Out> {
            let Some(dt) = read_datetime(v[0])? else { return Ok(Out::Null) };
            Ok(Out::Int(extract(dt, Part::$p)))
        })*
    };
}

part_fns!(
    year_row => Year, quarter_row => Quarter, month_row => Month, week_row => Week,
    day_row => Day, hour_row => Hour, minute_row => Minute, second_row => Second,
    dayofweek_row => DayOfWeek, dayofweekiso_row => DayOfWeekIso, dayofyear_row => DayOfYear,
    weekiso_row => WeekIso, yearofweek_row => YearOfWeek,
);

// ---- LAST_DAY, DAYNAME, MONTHNAME ---------------------------------------------

fn last_day_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(dt) = read_datetime(v[0])? else { return Ok(Out::Null) };
    let part = match v.get(1) {
        Some(p) => part_arg(*p)?,
        None => Part::Month,
    };
    let d = dt.date();
    let last = match part {
        Part::Year => NaiveDate::from_ymd_opt(d.year(), 12, 31),
        Part::Quarter => {
            let m = d.month0() / 3 * 3 + 3;
            NaiveDate::from_ymd_opt(d.year(), m, days_in_month(d.year(), m))
        }
        Part::Month => NaiveDate::from_ymd_opt(d.year(), d.month(), days_in_month(d.year(), d.month())),
        Part::Week => Some(d + TimeDelta::days(6 - d.weekday().num_days_from_monday() as i64)),
        _ => return Err(invalid_argument("Invalid date/time part for LAST_DAY")),
    };
    Ok(Out::Date(date_to_days(last.ok_or_else(out_of_range)?)))
}

fn dayname_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(dt) = read_datetime(v[0])? else { return Ok(Out::Null) };
    Ok(Out::Str(day_abbr(dt.date()).to_string()))
}

fn monthname_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(dt) = read_datetime(v[0])? else { return Ok(Out::Null) };
    Ok(Out::Str(month_abbr(dt.month()).to_string()))
}

// ---- *_FROM_PARTS ----------------------------------------------------------------

fn int_args(v: &[Val]) -> Result<Vec<i64>> {
    v.iter()
        .map(|x| x.as_i64().ok_or_else(|| invalid_argument(format!("Invalid integer {x:?}"))))
        .collect()
}

fn date_from(y: i64, m: i64, d: i64) -> Result<NaiveDate> {
    let base = NaiveDate::from_ymd_opt(i32::try_from(y).map_err(|_| out_of_range())?, 1, 1)
        .ok_or_else(out_of_range)?;
    let base = add_months_date(base, m - 1).ok_or_else(out_of_range)?;
    base.checked_add_signed(TimeDelta::days(d - 1)).ok_or_else(out_of_range)
}

fn date_from_parts_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let a = int_args(v)?;
    Ok(Out::Date(date_to_days(date_from(a[0], a[1], a[2])?)))
}

fn time_nanos(h: i64, m: i64, s: i64, ns: i64) -> i128 {
    ((h as i128 * 60 + m as i128) * 60 + s as i128) * 1_000_000_000 + ns as i128
}

fn timestamp_from_parts_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let a = int_args(v)?;
    let d = date_from(a[0], a[1], a[2])?;
    let nanos = time_nanos(a[3], a[4], a[5], a.get(6).copied().unwrap_or(0));
    let base = date_to_days(d) as i128 * NANOS_PER_DAY as i128 + nanos;
    Ok(Out::Ts(i64::try_from(base).map_err(|_| out_of_range())?))
}

fn time_from_parts_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let a = int_args(v)?;
    let nanos = time_nanos(a[0], a[1], a[2], a.get(3).copied().unwrap_or(0));
    Ok(Out::Time(nanos.rem_euclid(NANOS_PER_DAY as i128) as i64))
}

// ---- SYSDATE, GETDATE ------------------------------------------------------------

fn now_literal(info: &SimplifyContext, tz: bool) -> ExprSimplifyResult {
    match info.query_execution_start_time() {
        Some(t) => ExprSimplifyResult::Simplified(Expr::Literal(
            ScalarValue::TimestampNanosecond(t.timestamp_nanos_opt(), tz.then(|| UTC.into())),
            None,
        )),
        None => ExprSimplifyResult::Original(vec![]),
    }
}

fn sysdate_simplify(args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
    Ok(if args.is_empty() { now_literal(info, false) } else { ExprSimplifyResult::Original(args) })
}

fn getdate_simplify(args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
    Ok(if args.is_empty() { now_literal(info, true) } else { ExprSimplifyResult::Original(args) })
}

fn now_row(_: &Ctx, _: &[Val]) -> Result<Out> {
    Ok(Out::Ts(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)))
}

/// Plans `EXTRACT(part FROM x)` onto Snowflake's DATE_PART (Int64 results,
/// Snowflake part names). DataFusion's own planner maps EXTRACT to its
/// built-in date_part, so this must come before the default planners.
#[derive(Debug, Default)]
pub struct ExtractPlanner;

impl ExprPlanner for ExtractPlanner {
    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(date_part_udf()),
            args,
        ))))
    }
}

fn date_part_udf() -> ScalarUDF {
    Func::new("date_part", 2, 2, ret_i64, date_part_row).alias("datepart").udf()
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let mut v = vec![
        Func::new("dateadd", 3, 3, dateadd_ret, dateadd_row).alias("timestampadd").alias("timeadd").udf(),
        Func::new("datediff", 3, 3, ret_i64, datediff_row).alias("timestampdiff").alias("timediff").udf(),
        Func::new("date_trunc", 2, 2, date_trunc_ret, date_trunc_row).alias("datetrunc").udf(),
        date_part_udf(),
        Func::new("add_months", 2, 2, add_months_ret, add_months_row).udf(),
        Func::new("last_day", 1, 2, ret_date, last_day_row).udf(),
        Func::new("dayname", 1, 1, ret_utf8, dayname_row).udf(),
        Func::new("monthname", 1, 1, ret_utf8, monthname_row).udf(),
        Func::new("date_from_parts", 3, 3, ret_date, date_from_parts_row).alias("datefromparts").udf(),
        Func::new("timestamp_from_parts", 6, 7, ret_ntz, timestamp_from_parts_row)
            .alias("timestamp_ntz_from_parts")
            .alias("timestampfromparts")
            .udf(),
        Func::new("time_from_parts", 3, 4, ret_time, time_from_parts_row).alias("timefromparts").udf(),
        Func::new("sysdate", 0, 0, ret_ntz, now_row)
            .volatility(Volatility::Stable)
            .simplify(sysdate_simplify)
            .udf(),
        Func::new("getdate", 0, 0, ret_ltz, now_row)
            .volatility(Volatility::Stable)
            .simplify(getdate_simplify)
            .udf(),
    ];
    let parts: [(&'static str, crate::rows::RowFn); 13] = [
        ("year", year_row),
        ("quarter", quarter_row),
        ("month", month_row),
        ("week", week_row),
        ("day", day_row),
        ("hour", hour_row),
        ("minute", minute_row),
        ("second", second_row),
        ("dayofweek", dayofweek_row),
        ("dayofweekiso", dayofweekiso_row),
        ("dayofyear", dayofyear_row),
        ("weekiso", weekiso_row),
        ("yearofweek", yearofweek_row),
    ];
    for (name, f) in parts {
        let mut func = Func::new(name, 1, 1, ret_i64, f);
        func = match name {
            "day" => func.alias("dayofmonth"),
            "week" => func.alias("weekofyear"),
            "yearofweek" => func.alias("yearofweekiso"),
            _ => func,
        };
        v.push(func.udf());
    }
    v
}
