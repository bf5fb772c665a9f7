//! Semi-structured functions over VARIANT / OBJECT / ARRAY JSON text:
//! PARSE_JSON, OBJECT_CONSTRUCT(_KEEP_NULL), ARRAY_CONSTRUCT(_COMPACT), GET,
//! GET_PATH, OBJECT_KEYS / _INSERT / _DELETE, the ARRAY_* helpers, SPLIT,
//! TYPEOF, the IS_* predicates, the AS_* accessors and CHECK_JSON.

use crate::error::invalid_argument;
use crate::json::{
    json_eq, json_to_plain_text, parse_json_strict, read_variant, to_text, type_name, val_to_json,
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
    if v.len() % 2 != 0 {
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

fn as_array(v: Val) -> Option<Vec<Value>> {
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

// ---- arrays ------------------------------------------------------------------------

fn array_size_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(as_array(v[0]).map(|a| Out::Int(a.len() as i64)).unwrap_or(Out::Null))
}

fn array_contains_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let needle = val_to_json(v[0]);
    Ok(match as_array(v[1]) {
        Some(a) => Out::Bool(a.iter().any(|x| json_eq(x, &needle))),
        None => Out::Null,
    })
}

fn array_position_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let needle = val_to_json(v[0]);
    Ok(match as_array(v[1]).and_then(|a| a.iter().position(|x| json_eq(x, &needle))) {
        Some(p) => Out::Int(p as i64),
        None => Out::Null,
    })
}

fn array_append_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut a) = as_array(v[0]) else { return Ok(Out::Null) };
    a.push(val_to_json(v[1]));
    Ok(variant(Value::Array(a)))
}

fn array_prepend_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut a) = as_array(v[0]) else { return Ok(Out::Null) };
    a.insert(0, val_to_json(v[1]));
    Ok(variant(Value::Array(a)))
}

fn array_cat_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let (Some(mut a), Some(b)) = (as_array(v[0]), as_array(v[1])) else { return Ok(Out::Null) };
    a.extend(b);
    Ok(variant(Value::Array(a)))
}

fn array_compact_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    Ok(variant(Value::Array(a.into_iter().filter(|x| !x.is_null()).collect())))
}

fn array_distinct_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let mut out: Vec<Value> = vec![];
    for x in a {
        if !out.iter().any(|y| json_eq(y, &x)) {
            out.push(x);
        }
    }
    Ok(variant(Value::Array(out)))
}

fn array_slice_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let n = a.len() as i64;
    let idx = |x: Val| -> Result<i64> {
        let i = x.as_i64().ok_or_else(|| invalid_argument("ARRAY_SLICE bounds must be integers"))?;
        Ok(if i < 0 { (n + i).max(0) } else { i.min(n) })
    };
    let (from, to) = (idx(v[1])?, idx(v[2])?);
    let out = if from < to { a[from as usize..to as usize].to_vec() } else { vec![] };
    Ok(variant(Value::Array(out)))
}

fn array_to_string_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let sep = v[1].as_str().unwrap_or("");
    let parts: Vec<String> = a
        .iter()
        .map(|x| if x.is_null() { String::new() } else { json_to_plain_text(x) })
        .collect();
    Ok(Out::Str(parts.join(sep)))
}

fn split_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let (Some(s), Some(sep)) = (v[0].as_str(), v[1].as_str()) else {
        return Err(invalid_argument("SPLIT expects string arguments"));
    };
    let parts: Vec<Value> = if sep.is_empty() {
        vec![Value::String(s.to_string())]
    } else {
        s.split(sep).map(|p| Value::String(p.to_string())).collect()
    };
    Ok(variant(Value::Array(parts)))
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
        Func::new("array_size", 1, 1, ret_i64, array_size_row).udf(),
        Func::new("array_contains", 2, 2, ret_bool, array_contains_row).udf(),
        Func::new("array_position", 2, 2, ret_i64, array_position_row).udf(),
        Func::new("array_append", 2, 2, ret_variant, array_append_row).lenient().udf(),
        Func::new("array_prepend", 2, 2, ret_variant, array_prepend_row).lenient().udf(),
        Func::new("array_cat", 2, 2, ret_variant, array_cat_row).udf(),
        Func::new("array_compact", 1, 1, ret_variant, array_compact_row).udf(),
        Func::new("array_distinct", 1, 1, ret_variant, array_distinct_row).udf(),
        Func::new("array_slice", 3, 3, ret_variant, array_slice_row).udf(),
        Func::new("array_to_string", 2, 2, ret_utf8, array_to_string_row).udf(),
        Func::new("split", 2, 2, ret_variant, split_row).udf(),
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
