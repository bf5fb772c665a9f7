//! String functions with Snowflake semantics: CONTAINS, STARTSWITH,
//! ENDSWITH, CHARINDEX, INSERT, LEN, STRTOK, STRTOK_TO_ARRAY, SPLIT_PART,
//! REPLACE (optional replacement), CONCAT / CONCAT_WS (NULL if any argument is
//! NULL) and SHA2 (rewritten onto DataFusion's digests, hex encoded).

use crate::convert::to_varchar_plain;
use crate::error::invalid_argument;
use crate::rows::{Ctx, Func, Out, Val, ret_bool, ret_i64, ret_utf8, ret_variant};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{Expr, ScalarUDF};

/// Text of a string-ish argument (other scalars are rendered like TO_VARCHAR).
fn text(v: Val) -> String {
    to_varchar_plain(v).unwrap_or_default()
}

fn contains_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Bool(text(v[0]).contains(&text(v[1]))))
}

fn startswith_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Bool(text(v[0]).starts_with(&text(v[1]))))
}

fn endswith_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Bool(text(v[0]).ends_with(&text(v[1]))))
}

fn charindex_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let needle = text(v[0]);
    let hay = text(v[1]);
    let pos = v.get(2).and_then(|p| p.as_i64()).unwrap_or(1).max(1) as usize;
    let start = hay.char_indices().map(|(i, _)| i).chain([hay.len()]).nth(pos - 1);
    let Some(start) = start else { return Ok(Out::Int(0)) };
    Ok(Out::Int(match hay[start..].find(&needle) {
        Some(b) => hay[..start + b].chars().count() as i64 + 1,
        None => 0,
    }))
}

fn insert_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let base: Vec<char> = text(v[0]).chars().collect();
    let (Some(pos), Some(len)) = (v[1].as_i64(), v[2].as_i64()) else {
        return Err(invalid_argument("INSERT position and length must be integers"));
    };
    if pos < 1 || len < 0 {
        return Err(invalid_argument(format!("Invalid INSERT arguments ({pos}, {len})")));
    }
    let start = ((pos - 1) as usize).min(base.len());
    let end = (start + len as usize).min(base.len());
    let mut out: String = base[..start].iter().collect();
    out.push_str(&text(v[3]));
    out.extend(&base[end..]);
    Ok(Out::Str(out))
}

fn len_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Int(match v[0] {
        Val::Bin(b) => b.len() as i64,
        other => text(other).chars().count() as i64,
    }))
}

fn tokens(s: &str, delims: &str) -> Vec<String> {
    s.split(|c| delims.contains(c)).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn strtok_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = text(v[0]);
    let delims = v.get(1).map(|d| text(*d)).unwrap_or_else(|| " ".into());
    let part = v.get(2).and_then(|p| p.as_i64()).unwrap_or(1);
    if part < 1 {
        return Err(invalid_argument(format!("Invalid part number {part} for STRTOK")));
    }
    let toks = if delims.is_empty() { vec![s].into_iter().filter(|t| !t.is_empty()).collect() } else { tokens(&s, &delims) };
    Ok(toks.into_iter().nth((part - 1) as usize).map(Out::Str).unwrap_or(Out::Null))
}

fn strtok_to_array_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = text(v[0]);
    let delims = v.get(1).map(|d| text(*d)).unwrap_or_else(|| " ".into());
    let toks = if delims.is_empty() { vec![s] } else { tokens(&s, &delims) };
    let arr = serde_json::Value::Array(toks.into_iter().map(serde_json::Value::String).collect());
    Ok(Out::Str(arr.to_string()))
}

fn split_part_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = text(v[0]);
    let sep = text(v[1]);
    let part = v[2].as_i64().ok_or_else(|| invalid_argument("SPLIT_PART part must be an integer"))?;
    let parts: Vec<&str> = if sep.is_empty() { vec![s.as_str()] } else { s.split(sep.as_str()).collect() };
    let n = parts.len() as i64;
    let idx = if part == 0 { 0 } else if part > 0 { part - 1 } else { n + part };
    Ok(Out::Str(if (0..n).contains(&idx) { parts[idx as usize].to_string() } else { String::new() }))
}

fn replace_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = text(v[0]);
    let from = text(v[1]);
    let to = v.get(2).map(|t| text(*t)).unwrap_or_default();
    Ok(Out::Str(if from.is_empty() { s } else { s.replace(&from, &to) }))
}

fn concat_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Str(v.iter().map(|x| text(*x)).collect()))
}

fn concat_ws_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let sep = text(v[0]);
    Ok(Out::Str(v[1..].iter().map(|x| text(*x)).collect::<Vec<_>>().join(&sep)))
}

fn sha2_row(_: &Ctx, _: &[Val]) -> Result<Out> {
    Err(invalid_argument("SHA2 digest length must be a constant 224, 256, 384 or 512"))
}

fn sha2_simplify(args: Vec<Expr>, _: &SimplifyContext) -> Result<ExprSimplifyResult> {
    let bits = match args.get(1) {
        None => Some(256),
        Some(Expr::Literal(s, _)) => match s.cast_to(&datafusion::arrow::datatypes::DataType::Int64) {
            Ok(ScalarValue::Int64(b)) => b,
            _ => None,
        },
        _ => None,
    };
    use datafusion::functions::crypto;
    let digest = match bits {
        Some(224) => crypto::sha224(),
        Some(256) | Some(0) => crypto::sha256(),
        Some(384) => crypto::sha384(),
        Some(512) => crypto::sha512(),
        Some(b) => return Err(invalid_argument(format!("Invalid digest length {b} for SHA2"))),
        None => return Ok(ExprSimplifyResult::Original(args)),
    };
    let input = args.into_iter().next().unwrap_or(Expr::Literal(ScalarValue::Utf8(None), None));
    let hashed = Expr::ScalarFunction(ScalarFunction::new_udf(digest, vec![input]));
    let hex = Expr::ScalarFunction(ScalarFunction::new_udf(
        datafusion::functions::encoding::encode(),
        vec![hashed, Expr::Literal(ScalarValue::Utf8(Some("hex".into())), None)],
    ));
    Ok(ExprSimplifyResult::Simplified(hex))
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("contains", 2, 2, ret_bool, contains_row).udf(),
        Func::new("startswith", 2, 2, ret_bool, startswith_row).udf(),
        Func::new("endswith", 2, 2, ret_bool, endswith_row).udf(),
        Func::new("charindex", 2, 3, ret_i64, charindex_row).udf(),
        Func::new("insert", 4, 4, ret_utf8, insert_row).udf(),
        Func::new("len", 1, 1, ret_i64, len_row).udf(),
        Func::new("strtok", 1, 3, ret_utf8, strtok_row).udf(),
        Func::new("strtok_to_array", 1, 2, ret_variant, strtok_to_array_row).udf(),
        Func::new("split_part", 3, 3, ret_utf8, split_part_row).udf(),
        Func::new("replace", 2, 3, ret_utf8, replace_row).udf(),
        Func::new("concat", 1, usize::MAX, ret_utf8, concat_row).udf(),
        Func::new("concat_ws", 2, usize::MAX, ret_utf8, concat_ws_row).udf(),
        Func::new("sha2", 1, 2, ret_utf8, sha2_row).simplify(sha2_simplify).alias("sha2_hex").udf(),
    ]
}
