//! Conversions between SQL values and VARIANT JSON.
//!
//! VARIANT / OBJECT / ARRAY values travel as LargeUtf8 compact JSON text. This
//! module turns argument values into `serde_json::Value`s (the rules of
//! OBJECT_CONSTRUCT / TO_VARIANT / ARRAY_AGG), parses VARIANT arguments,
//! renders canonical JSON (object keys sorted, as Snowflake shows them) and
//! answers TYPEOF-style questions.

use crate::error::json_parse_error;
use crate::rows::Val;
use crate::temporal::{fmt_date, fmt_time, fmt_ts};
use datafusion::common::Result;
use serde_json::{Number, Value};

/// Parses JSON text for PARSE_JSON; errors use Snowflake's code 100069.
pub(crate) fn parse_json_strict(s: &str) -> Result<Value> {
    serde_json::from_str::<Value>(s).map_err(|e| json_parse_error(describe(&e)))
}

fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "unexpected end of input".to_string(),
        _ => {
            let msg = e.to_string();
            msg.split(" at line").next().unwrap_or(&msg).to_string()
        }
    };
    format!("{what}, pos {}", e.column())
}

/// Compact canonical JSON text (object keys sorted).
pub(crate) fn to_text(v: Value) -> String {
    text_of(&v)
}

/// Compact canonical JSON text of a borrowed value.
pub(crate) fn text_of(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

/// Appends `v` as compact JSON with object keys in sorted order.
pub(crate) fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::String(s) => write_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_str(s: &str, out: &mut String) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::String(s.to_string()).to_string());
    }
}

/// A float as a JSON value (non-finite values become strings, as in Snowflake).
pub(crate) fn f64_json(f: f64) -> Value {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        Value::Number(Number::from(f as i64))
    } else {
        match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => Value::String("NaN".into()),
            None if f > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        }
    }
}

/// A decimal (unscaled value + scale) as a JSON number.
pub(crate) fn dec_json(v: i128, scale: i8) -> Value {
    if scale <= 0 {
        let m = 10i128.pow((-scale) as u32);
        if let Some(x) = v.checked_mul(m).and_then(|x| i64::try_from(x).ok()) {
            return Value::Number(Number::from(x));
        }
    }
    let d = 10i128.pow(scale.max(0) as u32);
    if v % d == 0
        && let Ok(x) = i64::try_from(v / d)
    {
        return Value::Number(Number::from(x));
    }
    let f = v as f64 / 10f64.powi(scale as i32);
    Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

/// Converts a SQL value to JSON (OBJECT_CONSTRUCT, TO_VARIANT, ARRAY_AGG, …).
/// VARIANT arguments are embedded as parsed; SQL NULL becomes JSON null.
pub(crate) fn val_to_json(v: Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(b),
        Val::Int(i) => Value::Number(Number::from(i)),
        Val::Dec(x, _, s) => dec_json(x, s),
        Val::F64(f) => f64_json(f),
        Val::Str(s) => Value::String(s.to_string()),
        Val::Json(s) => {
            serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
        Val::Date(d) => Value::String(fmt_date(d)),
        Val::Ts(ns, tz) => Value::String(fmt_ts(ns, tz)),
        Val::Time(ns) => Value::String(fmt_time(ns)),
        Val::Bin(b) => Value::String(b.iter().map(|x| format!("{x:02X}")).collect()),
    }
}

/// Reads a semi-structured argument: VARIANT text is parsed; a VARCHAR holding
/// JSON text is parsed too (anything else is taken as a JSON string); other
/// values are converted. SQL NULL gives `None`.
pub(crate) fn read_variant(v: Val) -> Option<Value> {
    match v {
        Val::Null => None,
        Val::Str(s) => {
            Some(serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string())))
        }
        other => Some(val_to_json(other)),
    }
}

/// TO_VARCHAR of a JSON value: strings unquoted, everything else as JSON text.
pub(crate) fn json_to_plain_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => text_of(other),
    }
}

/// Snowflake's TYPEOF name for a JSON value. `raw` is the number's source text
/// when known (to tell DOUBLE from DECIMAL).
pub(crate) fn type_name(v: &Value, raw: Option<&str>) -> &'static str {
    match v {
        Value::Null => "NULL_VALUE",
        Value::Bool(_) => "BOOLEAN",
        Value::String(_) => "VARCHAR",
        Value::Array(_) => "ARRAY",
        Value::Object(_) => "OBJECT",
        Value::Number(n) => {
            let text = raw.map(str::to_string).unwrap_or_else(|| n.to_string());
            if text.contains(['e', 'E']) {
                "DOUBLE"
            } else if n.is_i64() || n.is_u64() {
                "INTEGER"
            } else if text.contains('.') {
                "DECIMAL"
            } else {
                "DOUBLE"
            }
        }
    }
}

/// Compares two JSON values the way ARRAY_CONTAINS does (numbers by value).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(val_to_json(Val::Dec(150, 10, 2)).to_string(), "1.5");
        assert_eq!(val_to_json(Val::Dec(300, 10, 2)).to_string(), "3");
        assert_eq!(val_to_json(Val::F64(2.0)).to_string(), "2");
        assert_eq!(val_to_json(Val::Json("{\"a\":[1,2]}")).to_string(), "{\"a\":[1,2]}");
        assert_eq!(to_text(serde_json::json!({"b":1,"a":{"d":1,"c":2}})), "{\"a\":{\"c\":2,\"d\":1},\"b\":1}");
        assert_eq!(type_name(&serde_json::json!(1.5), None), "DECIMAL");
        assert_eq!(type_name(&serde_json::json!(1.5e3), Some("1.5e3")), "DOUBLE");
        assert!(parse_json_strict("{").is_err());
        assert_eq!(to_text(serde_json::json!({"q":"a\"b\n","e":[]})), r#"{"e":[],"q":"a\"b\n"}"#);
    }
}
