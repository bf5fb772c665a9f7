//! Conversion functions: TO_VARCHAR / TO_CHAR, TO_DATE / DATE, TO_TIMESTAMP
//! (_NTZ, _LTZ, _TZ), TO_TIME, their TRY_ forms, and TO_VARIANT, TO_JSON,
//! TO_OBJECT, TO_ARRAY, TO_BINARY / TRY_TO_BINARY (HEX, BASE64, UTF-8). Strings are parsed with Snowflake's AUTO rules or an
//! explicit format; integers follow the epoch magnitude rule.

use crate::error::{date_not_recognized, invalid_argument, time_not_recognized, timestamp_not_recognized};
use crate::json::{json_to_plain_text, to_text, val_to_json};
use crate::number::{fmt_decimal, fmt_float, fmt_number_model, try_out};
use crate::rows::{
    Ctx, Func, Out, Val, is_string_type, ret_date, ret_ltz, ret_ntz, ret_time, ret_utf8,
    ret_variant,
};
use crate::temporal::{
    NANOS_PER_DAY, NANOS_PER_SEC, date_to_days, dt_to_ns, epoch_to_ns, fmt_date, fmt_time, fmt_ts,
    ns_to_dt, ns_to_time, parse_auto_date, parse_auto_time, parse_auto_timestamp, parse_tokens,
    scaled_epoch_to_ns, time_to_ns, tokenize_format, format_tokens,
};
use chrono::{NaiveDateTime, TimeDelta};
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use serde_json::Value;

// ---- TO_VARCHAR ----------------------------------------------------------------

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- TO_BINARY -----------------------------------------------------------------

/// A string's bytes in a binary format: HEX (the default), BASE64 or UTF-8.
fn binary_from_text(s: &str, fmt: Option<&str>) -> Option<Vec<u8>> {
    match fmt.map(|f| f.trim().to_ascii_uppercase()).as_deref() {
        None | Some("HEX") => {
            let s = s.trim();
            if s.len() % 2 != 0 {
                return None;
            }
            (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
        }
        Some("BASE64") => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
        }
        Some("UTF-8" | "UTF8") => Some(s.as_bytes().to_vec()),
        Some(_) => None,
    }
}

fn to_binary(v: &[Val], try_: bool) -> Result<Out> {
    let fmt = fmt_arg(v);
    if let Some(f) = fmt
        && !matches!(f.trim().to_ascii_uppercase().as_str(), "HEX" | "BASE64" | "UTF-8" | "UTF8")
    {
        return Err(invalid_argument(format!("Invalid binary format '{f}'")));
    }
    Ok(match v[0] {
        Val::Null => Out::Null,
        Val::Bin(b) => Out::Bin(b.to_vec()),
        Val::Str(s) => match binary_from_text(s, fmt) {
            Some(b) => Out::Bin(b),
            None if try_ => Out::Null,
            None => return Err(invalid_argument(format!("The following string is not a legal {} encoding: '{s}'", fmt.unwrap_or("hex").to_ascii_lowercase()))),
        },
        _ if try_ => Out::Null,
        other => return Err(invalid_argument(format!("TO_BINARY cannot convert {other:?}"))),
    })
}

fn to_binary_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    to_binary(v, false)
}

fn try_to_binary_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    to_binary(v, true)
}

fn ret_binary(_: &[datafusion::arrow::datatypes::DataType], _: &[Option<&datafusion::common::ScalarValue>]) -> Result<datafusion::arrow::datatypes::DataType> {
    Ok(datafusion::arrow::datatypes::DataType::Binary)
}

/// Renders any value as Snowflake's TO_VARCHAR would (without a format).
pub(crate) fn to_varchar_plain(v: Val) -> Option<String> {
    Some(match v {
        Val::Null => return None,
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Dec(x, _, s) => fmt_decimal(x, s),
        Val::F64(f) => fmt_float(f),
        Val::Str(s) => s.to_string(),
        Val::Json(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => return None,
            Ok(j) => json_to_plain_text(&j),
            Err(_) => s.to_string(),
        },
        Val::Date(d) => fmt_date(d),
        Val::Ts(ns, tz) => fmt_ts(ns, tz),
        Val::Time(ns) => fmt_time(ns),
        Val::Bin(b) => b.iter().map(|x| format!("{x:02X}")).collect(),
    })
}

fn to_varchar_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let fmt = match v.get(1) {
        None | Some(Val::Null) => None,
        Some(Val::Str(f)) => Some(*f),
        Some(other) => return Err(invalid_argument(format!("Invalid format {other:?}"))),
    };
    let Some(fmt) = fmt else {
        return Ok(to_varchar_plain(v[0]).map(Out::Str).unwrap_or(Out::Null));
    };
    let dt_fmt = |dt: NaiveDateTime| format_tokens(dt, 0, &tokenize_format(fmt));
    Ok(Out::Str(match v[0] {
        Val::Date(d) => dt_fmt(crate::temporal::days_to_date(d).and_time(chrono::NaiveTime::MIN)),
        Val::Ts(ns, _) => dt_fmt(ns_to_dt(ns)),
        Val::Time(ns) => dt_fmt(crate::temporal::epoch_date().and_time(ns_to_time(ns))),
        Val::Int(i) => fmt_number_model(i as f64, Some((i as i128, 0)), fmt),
        Val::Dec(x, _, s) => fmt_number_model(x as f64 / 10f64.powi(s as i32), Some((x, s)), fmt),
        Val::F64(f) => fmt_number_model(f, None, fmt),
        Val::Bin(b) => match fmt.to_ascii_uppercase().as_str() {
            "BASE64" => base64(b),
            "UTF-8" | "UTF8" => String::from_utf8_lossy(b).into_owned(),
            _ => b.iter().map(|x| format!("{x:02X}")).collect(),
        },
        other => return Ok(to_varchar_plain(other).map(Out::Str).unwrap_or(Out::Null)),
    }))
}

// ---- TO_DATE -------------------------------------------------------------------

fn is_integer_text(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix('-').unwrap_or(t);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

fn date_of_ns(ns: i64) -> i32 {
    ns.div_euclid(NANOS_PER_DAY) as i32
}

fn date_from_text(s: &str, fmt: Option<&str>) -> Result<i32> {
    if let Some(f) = fmt.filter(|f| !f.eq_ignore_ascii_case("AUTO")) {
        let (dt, _) = parse_tokens(s, &tokenize_format(f)).ok_or_else(|| date_not_recognized(s))?;
        return Ok(date_to_days(dt.date()));
    }
    if is_integer_text(s) {
        let v: i64 = s.trim().parse().map_err(|_| date_not_recognized(s))?;
        return epoch_to_ns(v).map(date_of_ns).ok_or_else(|| date_not_recognized(s));
    }
    parse_auto_date(s).map(date_to_days).ok_or_else(|| date_not_recognized(s))
}

fn fmt_arg<'a>(v: &[Val<'a>]) -> Option<&'a str> {
    v.get(1).and_then(|f| f.as_str())
}

fn to_date_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Date(match v[0] {
        Val::Date(d) => d,
        Val::Ts(ns, _) => date_of_ns(ns),
        Val::Str(s) => date_from_text(s, fmt_arg(v))?,
        Val::Int(i) => epoch_to_ns(i).map(date_of_ns).ok_or_else(|| date_not_recognized(&i.to_string()))?,
        Val::Json(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => return Ok(Out::Null),
            Ok(Value::String(t)) => date_from_text(&t, fmt_arg(v))?,
            Ok(Value::Number(n)) => date_from_text(&n.to_string(), None)?,
            _ => return Err(date_not_recognized(s)),
        },
        other => return Err(date_not_recognized(&to_varchar_plain(other).unwrap_or_default())),
    }))
}

fn try_to_date_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(to_date_row(ctx, v))
}

// ---- TO_TIMESTAMP -----------------------------------------------------------------

/// Parses timestamp text; `keep_wall_clock` ignores an explicit offset (NTZ).
fn ts_from_text(s: &str, fmt: Option<&str>, scale: Option<i64>, keep_wall_clock: bool) -> Result<i64> {
    let err = || timestamp_not_recognized(s);
    let parsed = match fmt.filter(|f| !f.eq_ignore_ascii_case("AUTO")) {
        Some(f) => parse_tokens(s, &tokenize_format(f)),
        None if is_integer_text(s) => {
            let v: i64 = s.trim().parse().map_err(|_| err())?;
            let ns = match scale {
                Some(sc) => scaled_epoch_to_ns(v, sc),
                None => epoch_to_ns(v),
            };
            return ns.ok_or_else(err);
        }
        None => parse_auto_timestamp(s),
    };
    let (dt, off) = parsed.ok_or_else(err)?;
    let dt = match off {
        Some(o) if !keep_wall_clock => dt - TimeDelta::seconds(o as i64),
        _ => dt,
    };
    dt_to_ns(dt).ok_or_else(err)
}

fn ts_row(v: &[Val], keep_wall_clock: bool) -> Result<Out> {
    let (fmt, scale) = match v.get(1) {
        Some(Val::Str(f)) => (Some(*f), None),
        Some(x @ (Val::Int(_) | Val::Dec(..))) => (None, x.as_i64()),
        _ => (None, None),
    };
    let err = |x: &Val| timestamp_not_recognized(&to_varchar_plain(*x).unwrap_or_default());
    Ok(Out::Ts(match v[0] {
        Val::Ts(ns, _) => ns,
        Val::Date(d) => d as i64 * NANOS_PER_DAY,
        Val::Str(s) => ts_from_text(s, fmt, scale, keep_wall_clock)?,
        Val::Int(i) => match scale {
            Some(sc) => scaled_epoch_to_ns(i, sc),
            None => epoch_to_ns(i),
        }
        .ok_or_else(|| err(&v[0]))?,
        Val::Dec(..) | Val::F64(_) => {
            let secs = v[0].as_f64().unwrap_or(f64::NAN);
            let ns = (secs * NANOS_PER_SEC as f64).round();
            if !ns.is_finite() || ns.abs() > i64::MAX as f64 {
                return Err(err(&v[0]));
            }
            ns as i64
        }
        Val::Json(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => return Ok(Out::Null),
            Ok(Value::String(t)) => ts_from_text(&t, fmt, scale, keep_wall_clock)?,
            Ok(Value::Number(n)) => ts_from_text(&n.to_string(), None, scale, keep_wall_clock)?,
            _ => return Err(timestamp_not_recognized(s)),
        },
        ref other => return Err(err(other)),
    }))
}

fn to_ntz_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    ts_row(v, true)
}
fn to_ltz_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    ts_row(v, false)
}
fn try_to_ntz_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(ts_row(v, true))
}
fn try_to_ltz_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(ts_row(v, false))
}

// ---- TO_TIME -------------------------------------------------------------------

fn time_from_text(s: &str, fmt: Option<&str>) -> Result<i64> {
    if let Some(f) = fmt.filter(|f| !f.eq_ignore_ascii_case("AUTO")) {
        let (dt, _) = parse_tokens(s, &tokenize_format(f)).ok_or_else(|| time_not_recognized(s))?;
        return Ok(time_to_ns(dt.time()));
    }
    if is_integer_text(s) {
        let v: i64 = s.trim().parse().map_err(|_| time_not_recognized(s))?;
        return epoch_to_ns(v).map(|ns| ns.rem_euclid(NANOS_PER_DAY)).ok_or_else(|| time_not_recognized(s));
    }
    parse_auto_time(s).map(time_to_ns).ok_or_else(|| time_not_recognized(s))
}

fn to_time_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Time(match v[0] {
        Val::Time(ns) => ns,
        Val::Ts(ns, _) => ns.rem_euclid(NANOS_PER_DAY),
        Val::Str(s) => time_from_text(s, fmt_arg(v))?,
        Val::Json(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => return Ok(Out::Null),
            Ok(Value::String(t)) => time_from_text(&t, fmt_arg(v))?,
            _ => return Err(time_not_recognized(s)),
        },
        other => return Err(time_not_recognized(&to_varchar_plain(other).unwrap_or_default())),
    }))
}

fn try_to_time_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(to_time_row(ctx, v))
}

// ---- TO_VARIANT, TO_JSON, TO_OBJECT, TO_ARRAY ------------------------------------------

fn to_variant_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Str(to_text(val_to_json(v[0]))))
}

fn to_json_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Str(to_text(val_to_json(v[0]))))
}

fn to_object_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    match crate::json::read_variant(v[0]) {
        None | Some(Value::Null) => Ok(Out::Null),
        Some(o @ Value::Object(_)) => Ok(Out::Str(to_text(o))),
        Some(_) => Err(invalid_argument("Invalid argument type for function TO_OBJECT: not an OBJECT")),
    }
}

fn to_array_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let j = match v[0] {
        Val::Json(_) => crate::json::read_variant(v[0]).unwrap_or(Value::Null),
        other => val_to_json(other),
    };
    Ok(match j {
        Value::Null => Out::Null,
        a @ Value::Array(_) => Out::Str(to_text(a)),
        other => Out::Str(to_text(Value::Array(vec![other]))),
    })
}

fn check_fmt_types(types: &[datafusion::arrow::datatypes::DataType]) -> bool {
    types.get(1).is_none_or(|t| is_string_type(t) || t.is_null() || t.is_integer())
}

fn ts_ret_ntz(
    t: &[datafusion::arrow::datatypes::DataType],
    l: &[Option<&datafusion::common::ScalarValue>],
) -> Result<datafusion::arrow::datatypes::DataType> {
    if !check_fmt_types(t) {
        return datafusion::common::plan_err!("TO_TIMESTAMP: second argument must be a format or scale");
    }
    ret_ntz(t, l)
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("to_varchar", 1, 2, ret_utf8, to_varchar_row).alias("to_char").udf(),
        Func::new("to_date", 1, 2, ret_date, to_date_row).alias("date").udf(),
        Func::new("try_to_date", 1, 2, ret_date, try_to_date_row).udf(),
        Func::new("to_timestamp", 1, 2, ts_ret_ntz, to_ntz_row).alias("to_timestamp_ntz").udf(),
        Func::new("try_to_timestamp", 1, 2, ret_ntz, try_to_ntz_row).alias("try_to_timestamp_ntz").udf(),
        Func::new("to_timestamp_ltz", 1, 2, ret_ltz, to_ltz_row).alias("to_timestamp_tz").udf(),
        Func::new("try_to_timestamp_ltz", 1, 2, ret_ltz, try_to_ltz_row).alias("try_to_timestamp_tz").udf(),
        Func::new("to_time", 1, 2, ret_time, to_time_row).alias("time").udf(),
        Func::new("try_to_time", 1, 2, ret_time, try_to_time_row).udf(),
        Func::new("to_variant", 1, 1, ret_variant, to_variant_row).udf(),
        Func::new("to_json", 1, 1, ret_utf8, to_json_row).udf(),
        Func::new("to_object", 1, 1, ret_variant, to_object_row).udf(),
        Func::new("to_array", 1, 1, ret_variant, to_array_row).udf(),
        Func::new("to_binary", 1, 2, ret_binary, to_binary_row).udf(),
        Func::new("try_to_binary", 1, 2, ret_binary, try_to_binary_row).udf(),
    ]
}
