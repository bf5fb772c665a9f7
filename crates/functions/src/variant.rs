//! Semi-structured functions over VARIANT / OBJECT / ARRAY JSON text:
//! PARSE_JSON, OBJECT_CONSTRUCT(_KEEP_NULL), ARRAY_CONSTRUCT(_COMPACT), GET,
//! GET_PATH, OBJECT_KEYS / _INSERT / _DELETE, TYPEOF, the IS_* predicates,
//! the AS_* accessors and CHECK_JSON. Array manipulation is in `arrays`.

use crate::error::invalid_argument;
use crate::json::{
    parse_json_strict, read_variant, to_text, type_name, val_to_json,
};
use crate::number::try_out;
use crate::rows::{Ctx, Func, Out, Val, ret_bool, ret_f64, ret_i64, ret_utf8, ret_variant};
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use serde_json::{Map, Value};

fn variant(v: Value) -> Out {
    Out::Str(to_text(v))
}

// ---- PARSE_JSON -------------------------------------------------------------------

fn parse_json_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = match v[0] {
        Val::Str(s) | Val::Json(s) => s,
        other => return Ok(variant(val_to_json(other))),
    };
    if s.trim().is_empty() {
        return Ok(Out::Null);
    }
    Ok(variant(parse_json_strict(s)?))
}

fn try_parse_json_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(parse_json_row(ctx, v))
}

fn check_json_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = match v[0] {
        Val::Str(s) | Val::Json(s) => s,
        _ => return Ok(Out::Null),
    };
    Ok(match parse_json_strict(s) {
        Ok(_) => Out::Null,
        Err(e) => Out::Str(
            crate::error::find_sf_error(&e).map(|e| e.message.clone()).unwrap_or(e.to_string()),
        ),
    })
}

// ---- constructors ------------------------------------------------------------------

fn object_build(v: &[Val], keep_null: bool) -> Result<Out> {
    if !v.len().is_multiple_of(2) {
        return Err(invalid_argument("OBJECT_CONSTRUCT requires an even number of arguments"));
    }
    let mut m = Map::new();
    for pair in v.chunks(2) {
        let key = match pair[0] {
            Val::Null => continue,
            Val::Str(k) => k.to_string(),
            other => match val_to_json(other) {
                Value::String(s) => s,
                j => j.to_string(),
            },
        };
        if pair[1].is_null() && !keep_null {
            continue;
        }
        m.insert(key, val_to_json(pair[1]));
    }
    Ok(variant(Value::Object(m)))
}

fn object_construct_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    object_build(v, false)
}

fn object_construct_keep_null_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    object_build(v, true)
}

fn array_construct_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(variant(Value::Array(v.iter().map(|x| val_to_json(*x)).collect())))
}

fn array_construct_compact_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(variant(Value::Array(
        v.iter().filter(|x| !x.is_null()).map(|x| val_to_json(*x)).collect(),
    )))
}

// ---- access ------------------------------------------------------------------------

enum Seg {
    Key(String),
    Idx(usize),
}

/// Parses a GET_PATH path: `a.b[0].c`, `a['b']`, `"quoted key".x`.
fn parse_path(p: &str) -> Result<Vec<Seg>> {
    let bad = || invalid_argument(format!("Invalid extraction path '{p}'"));
    let chars: Vec<char> = p.trim().trim_start_matches(':').chars().collect();
    let mut segs = vec![];
    let mut i = 0;
    let quoted = |i: &mut usize, q: char| -> Result<String> {
        let start = *i + 1;
        let end = chars[start..].iter().position(|c| *c == q).map(|e| start + e).ok_or_else(bad)?;
        *i = end + 1;
        Ok(chars[start..end].iter().collect())
    };
    while i < chars.len() {
        match chars[i] {
            '.' => i += 1,
            '[' => {
                i += 1;
                let seg = match chars.get(i) {
                    Some(q @ ('\'' | '"')) => Seg::Key(quoted(&mut i, *q)?),
                    _ => {
                        let start = i;
                        while i < chars.len() && chars[i] != ']' {
                            i += 1;
                        }
                        let text: String = chars[start..i].iter().collect();
                        Seg::Idx(text.trim().parse().map_err(|_| bad())?)
                    }
                };
                if chars.get(i) != Some(&']') {
                    return Err(bad());
                }
                i += 1;
                segs.push(seg);
            }
            '"' => segs.push(Seg::Key(quoted(&mut i, '"')?)),
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                segs.push(Seg::Key(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(segs)
}

fn step(v: Value, seg: &Seg) -> Option<Value> {
    match (v, seg) {
        (Value::Object(mut m), Seg::Key(k)) => m.remove(k),
        (Value::Array(mut a), Seg::Idx(i)) if *i < a.len() => Some(a.swap_remove(*i)),
        _ => None,
    }
}

fn get_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(j) = read_variant(v[0]) else { return Ok(Out::Null) };
    let seg = match (&j, v[1]) {
        (Value::Array(_), key) => match key.as_i64() {
            Some(i) if i >= 0 => Seg::Idx(i as usize),
            _ => return Ok(Out::Null),
        },
        (_, Val::Str(k)) => Seg::Key(k.to_string()),
        (_, other) => match val_to_json(other) {
            Value::String(k) => Seg::Key(k),
            _ => return Ok(Out::Null),
        },
    };
    Ok(step(j, &seg).map(variant).unwrap_or(Out::Null))
}

fn get_path_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut j) = read_variant(v[0]) else { return Ok(Out::Null) };
    let path = v[1].as_str().ok_or_else(|| invalid_argument("GET_PATH path must be a string"))?;
    for seg in parse_path(path)? {
        match step(j, &seg) {
            Some(x) => j = x,
            None => return Ok(Out::Null),
        }
    }
    Ok(variant(j))
}

// ---- objects -----------------------------------------------------------------------

fn as_object(v: Val) -> Option<Map<String, Value>> {
    match read_variant(v)? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

pub(crate) fn as_array(v: Val) -> Option<Vec<Value>> {
    match read_variant(v)? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

fn key_of(v: Val) -> Result<String> {
    match v {
        Val::Str(s) => Ok(s.to_string()),
        other => match val_to_json(other) {
            Value::String(s) => Ok(s),
            _ => Err(invalid_argument("Object key must be a string")),
        },
    }
}

fn object_keys_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match as_object(v[0]) {
        Some(m) => {
            let mut keys: Vec<String> = m.keys().cloned().collect();
            keys.sort();
            variant(Value::Array(keys.into_iter().map(Value::String).collect()))
        }
        None => Out::Null,
    })
}

fn object_insert_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut m) = as_object(v[0]) else { return Ok(Out::Null) };
    let key = key_of(v[1])?;
    let update = matches!(v.get(3), Some(Val::Bool(true)));
    if m.contains_key(&key) && !update {
        return Err(invalid_argument(format!(
            "Duplicate field key '{key}' in OBJECT_INSERT; use the update flag to overwrite"
        )));
    }
    if v[2].is_null() {
        m.remove(&key);
    } else {
        m.insert(key, val_to_json(v[2]));
    }
    Ok(variant(Value::Object(m)))
}

fn object_delete_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut m) = as_object(v[0]) else { return Ok(Out::Null) };
    for k in &v[1..] {
        if !k.is_null() {
            m.remove(&key_of(*k)?);
        }
    }
    Ok(variant(Value::Object(m)))
}

// ---- type inspection -----------------------------------------------------------------

fn typeof_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let name = match v[0] {
        Val::Json(s) => match serde_json::from_str::<Value>(s) {
            Ok(j) => type_name(&j, Some(s.trim())),
            Err(_) => "VARCHAR",
        },
        Val::Bool(_) => "BOOLEAN",
        Val::Int(_) => "INTEGER",
        Val::Dec(..) => "DECIMAL",
        Val::F64(_) => "DOUBLE",
        Val::Str(_) => "VARCHAR",
        Val::Date(_) => "DATE",
        Val::Ts(_, false) => "TIMESTAMP_NTZ",
        Val::Ts(_, true) => "TIMESTAMP_LTZ",
        Val::Time(_) => "TIME",
        Val::Bin(_) => "BINARY",
        Val::Null => return Ok(Out::Null),
    };
    Ok(Out::Str(name.to_string()))
}

macro_rules! is_type_fns {
    ($($f:ident => $pat:pat),* $(,)?) => {
        $(fn $f(_: &Ctx, v: &[Val]) -> Result<Out> {
            Ok(match read_variant(v[0]) {
                Some(j) => Out::Bool(matches!(type_name(&j, None), $pat)),
                None => Out::Null,
            })
        })*
    };
}

is_type_fns!(
    is_object_row => "OBJECT",
    is_array_row => "ARRAY",
    is_null_value_row => "NULL_VALUE",
    is_boolean_row => "BOOLEAN",
    is_integer_row => "INTEGER",
    is_decimal_row => "INTEGER" | "DECIMAL",
    is_double_row => "INTEGER" | "DECIMAL" | "DOUBLE",
    is_varchar_row => "VARCHAR",
);

fn as_varchar_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match read_variant(v[0]) {
        Some(Value::String(s)) => Out::Str(s),
        _ => Out::Null,
    })
}

fn as_integer_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match read_variant(v[0]) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Out::Int(i),
            None => n.as_f64().map(|f| Out::Int(f.round() as i64)).unwrap_or(Out::Null),
        },
        _ => Out::Null,
    })
}

fn as_double_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match read_variant(v[0]) {
        Some(Value::Number(n)) => n.as_f64().map(Out::F64).unwrap_or(Out::Null),
        _ => Out::Null,
    })
}

fn as_boolean_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match read_variant(v[0]) {
        Some(Value::Bool(b)) => Out::Bool(b),
        _ => Out::Null,
    })
}

fn as_object_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(as_object(v[0]).map(|m| variant(Value::Object(m))).unwrap_or(Out::Null))
}

fn as_array_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(as_array(v[0]).map(|a| variant(Value::Array(a))).unwrap_or(Out::Null))
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let many = usize::MAX;
    vec![
        Func::new("parse_json", 1, 1, ret_variant, parse_json_row).udf(),
        Func::new("try_parse_json", 1, 1, ret_variant, try_parse_json_row).udf(),
        Func::new("check_json", 1, 1, ret_utf8, check_json_row).udf(),
        Func::new("object_construct", 0, many, ret_variant, object_construct_row).lenient().udf(),
        Func::new("object_construct_keep_null", 0, many, ret_variant, object_construct_keep_null_row)
            .lenient()
            .udf(),
        Func::new("array_construct", 0, many, ret_variant, array_construct_row).lenient().udf(),
        Func::new("array_construct_compact", 0, many, ret_variant, array_construct_compact_row)
            .lenient()
            .udf(),
        Func::new("get", 2, 2, ret_variant, get_row).udf(),
        Func::new("get_path", 2, 2, ret_variant, get_path_row).udf(),
        Func::new("object_keys", 1, 1, ret_variant, object_keys_row).udf(),
        Func::new("object_insert", 3, 4, ret_variant, object_insert_row).lenient().udf(),
        Func::new("object_delete", 2, many, ret_variant, object_delete_row).lenient().udf(),
        Func::new("typeof", 1, 1, ret_utf8, typeof_row).udf(),
        Func::new("is_object", 1, 1, ret_bool, is_object_row).udf(),
        Func::new("is_array", 1, 1, ret_bool, is_array_row).udf(),
        Func::new("is_null_value", 1, 1, ret_bool, is_null_value_row).udf(),
        Func::new("is_boolean", 1, 1, ret_bool, is_boolean_row).udf(),
        Func::new("is_integer", 1, 1, ret_bool, is_integer_row).udf(),
        Func::new("is_decimal", 1, 1, ret_bool, is_decimal_row).udf(),
        Func::new("is_double", 1, 1, ret_bool, is_double_row).alias("is_real").udf(),
        Func::new("is_varchar", 1, 1, ret_bool, is_varchar_row).alias("is_char").udf(),
        Func::new("as_varchar", 1, 1, ret_utf8, as_varchar_row).alias("as_char").udf(),
        Func::new("as_integer", 1, 1, ret_i64, as_integer_row).udf(),
        Func::new("as_double", 1, 1, ret_f64, as_double_row).alias("as_real").udf(),
        Func::new("as_boolean", 1, 1, ret_bool, as_boolean_row).udf(),
        Func::new("as_object", 1, 1, ret_variant, as_object_row).udf(),
        Func::new("as_array", 1, 1, ret_variant, as_array_row).udf(),
    ]
}
