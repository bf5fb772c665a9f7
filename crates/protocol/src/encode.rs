//! Encodes a `QueryResult` as the connector's JSON result: `rowtype` plus a `rowset` of strings.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Value, json};
use sql::SfType;
use sql::QueryResult;

/// `rowtype` entries for the result's columns.
pub fn rowtype(result: &QueryResult) -> Vec<Value> {
    result.schema.fields().iter().map(|f| column_meta(f)).collect()
}

fn column_meta(field: &Field) -> Value {
    let ty = SfType::of_field(field);
    let (precision, scale, length, byte_length) = match &ty {
        SfType::Number(p, s) => (json!(p), json!(s), Value::Null, Value::Null),
        SfType::Varchar(n) => (Value::Null, Value::Null, json!(n), json!((*n as u64 * 4).min(16_777_216))),
        SfType::Binary(n) => (Value::Null, Value::Null, json!(n), json!(n)),
        SfType::Time(s) | SfType::TimestampNtz(s) | SfType::TimestampLtz(s) | SfType::TimestampTz(s) => (json!(0), json!(s), Value::Null, Value::Null),
        SfType::Variant | SfType::Object | SfType::Array => (Value::Null, Value::Null, json!(16_777_216), json!(16_777_216)),
        _ => (Value::Null, Value::Null, Value::Null, Value::Null),
    };
    json!({
        "name": field.name(),
        "database": "",
        "schema": "",
        "table": "",
        "nullable": field.is_nullable(),
        "type": ty.wire_name(),
        "byteLength": byte_length,
        "length": length,
        "scale": scale,
        "precision": precision,
        "collation": null,
    })
}

fn scale_of(ty: &SfType) -> u32 {
    match ty {
        SfType::Time(s) | SfType::TimestampNtz(s) | SfType::TimestampLtz(s) | SfType::TimestampTz(s) => (*s).min(9) as u32,
        _ => 9,
    }
}

/// "seconds.fraction" for a count of nanoseconds, with `scale` fraction digits.
fn seconds_text(nanos: i128, scale: u32) -> String {
    let negative = nanos < 0;
    let abs = nanos.unsigned_abs();
    let secs = abs / 1_000_000_000;
    let frac = abs % 1_000_000_000;
    let sign = if negative { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{secs}");
    }
    let frac_scaled = frac / 10u128.pow(9 - scale);
    format!("{sign}{secs}.{frac_scaled:0width$}", width = scale as usize)
}

/// The rowset: one `Vec` of optional strings per row.
pub fn rowset(result: &QueryResult) -> Vec<Vec<Option<String>>> {
    let mut rows: Vec<Vec<Option<String>>> = Vec::with_capacity(result.num_rows());
    for batch in &result.batches {
        let n = batch.num_rows();
        let base = rows.len();
        rows.extend((0..n).map(|_| Vec::with_capacity(batch.num_columns())));
        for (field, column) in result.schema.fields().iter().zip(batch.columns()) {
            let ty = SfType::of_field(field);
            let values = encode_column(column.as_ref(), &ty);
            for (i, v) in values.into_iter().enumerate() {
                rows[base + i].push(v);
            }
        }
    }
    rows
}

fn encode_column(array: &dyn Array, ty: &SfType) -> Vec<Option<String>> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let a = array.as_primitive::<$t>();
            for i in 0..n {
                out.push(if a.is_null(i) { None } else { Some($f(a.value(i))) });
            }
        }};
    }
    let scale = scale_of(ty);
    match array.data_type() {
        DataType::Null => out.extend((0..n).map(|_| None)),
        DataType::Int8 => prim!(Int8Type, |v: i8| v.to_string()),
        DataType::Int16 => prim!(Int16Type, |v: i16| v.to_string()),
        DataType::Int32 => prim!(Int32Type, |v: i32| v.to_string()),
        DataType::Int64 => prim!(Int64Type, |v: i64| v.to_string()),
        DataType::UInt8 => prim!(UInt8Type, |v: u8| v.to_string()),
        DataType::UInt16 => prim!(UInt16Type, |v: u16| v.to_string()),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| v.to_string()),
        DataType::UInt64 => prim!(UInt64Type, |v: u64| v.to_string()),
        DataType::Float32 => prim!(Float32Type, |v: f32| float_text(v as f64)),
        DataType::Float64 => prim!(Float64Type, float_text),
        DataType::Decimal128(_, s) => {
            let s = *s;
            prim!(Decimal128Type, |v: i128| decimal_text(v, s))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..n {
                out.push(if a.is_null(i) { None } else { Some(if a.value(i) { "1".to_string() } else { "0".to_string() }) });
            }
        }
        DataType::Date32 => prim!(Date32Type, |v: i32| v.to_string()),
        DataType::Time64(TimeUnit::Nanosecond) => prim!(Time64NanosecondType, |v: i64| seconds_text(v as i128, scale)),
        DataType::Timestamp(unit, tz) => {
            let suffix = if matches!(ty, SfType::TimestampTz(_)) && tz.is_some() { " 1440" } else { "" };
            let to_text = |nanos: i128| format!("{}{suffix}", seconds_text(nanos, scale));
            match unit {
                TimeUnit::Second => prim!(TimestampSecondType, |v: i64| to_text(v as i128 * 1_000_000_000)),
                TimeUnit::Millisecond => prim!(TimestampMillisecondType, |v: i64| to_text(v as i128 * 1_000_000)),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondType, |v: i64| to_text(v as i128 * 1_000)),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondType, |v: i64| to_text(v as i128)),
            }
        }
        DataType::Utf8 => out.extend(array.as_string::<i32>().iter().map(|v| v.map(str::to_string))),
        DataType::Utf8View => out.extend(array.as_string_view().iter().map(|v| v.map(str::to_string))),
        DataType::LargeUtf8 => out.extend(array.as_string::<i64>().iter().map(|v| v.map(pretty_json))),
        DataType::Binary => out.extend(array.as_binary::<i32>().iter().map(|v| v.map(hex))),
        DataType::LargeBinary => out.extend(array.as_binary::<i64>().iter().map(|v| v.map(hex))),
        DataType::BinaryView => out.extend(array.as_binary_view().iter().map(|v| v.map(hex))),
        _ => {
            let formatter = ArrayFormatter::try_new(array, &FormatOptions::default());
            match formatter {
                Ok(f) => out.extend((0..n).map(|i| if array.is_null(i) { None } else { Some(f.value(i).to_string()) })),
                Err(_) => out.extend((0..n).map(|_| None)),
            }
        }
    }
    out
}

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return v.to_string();
    }
    let negative = v < 0;
    let abs = v.unsigned_abs();
    let div = 10u128.pow(scale as u32);
    format!("{}{}.{:0width$}", if negative { "-" } else { "" }, abs / div, abs % div, width = scale as usize)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Snowflake shows semi-structured values as JSON indented by two spaces.
pub(crate) fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() || v.is_array() => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_snowflake() {
        assert_eq!(seconds_text(1_500_000_000, 9), "1.500000000");
        assert_eq!(seconds_text(-1_500_000_000, 3), "-1.500");
        assert_eq!(decimal_text(-1250, 2), "-12.50");
        assert_eq!(decimal_text(5, 2), "0.05");
        assert_eq!(float_text(2.0), "2");
        assert_eq!(pretty_json("{\"a\":1}"), "{\n  \"a\": 1\n}");
    }
}
