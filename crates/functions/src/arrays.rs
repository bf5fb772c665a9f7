//! ARRAY functions over VARIANT JSON arrays: ARRAY_SIZE, ARRAY_CONTAINS,
//! ARRAY_POSITION, ARRAY_APPEND / PREPEND / INSERT, ARRAY_CAT, ARRAY_COMPACT,
//! ARRAY_DISTINCT, ARRAY_SLICE, ARRAY_TO_STRING, ARRAY_REMOVE, ARRAY_REVERSE,
//! ARRAY_SORT, ARRAY_MIN / MAX, ARRAYS_OVERLAP, ARRAY_INTERSECTION,
//! ARRAY_EXCEPT, ARRAY_FLATTEN, ARRAY_GENERATE_RANGE, ARRAYS_TO_OBJECT and SPLIT.

use crate::error::invalid_argument;
use crate::json::{json_eq, json_to_plain_text, to_text, val_to_json};
use crate::rows::{Ctx, Func, Out, Val, ret_bool, ret_i64, ret_utf8, ret_variant};
use crate::variant::as_array;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use serde_json::{Map, Value};
use std::cmp::Ordering;

fn variant(v: Value) -> Out {
    Out::Str(to_text(v))
}

fn array(v: Vec<Value>) -> Out {
    variant(Value::Array(v))
}

/// A total order over JSON values: by type (booleans, numbers, strings,
/// arrays, objects), then by value; JSON null sorts last.
fn json_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Bool(_) => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ if rank(a) != rank(b) => rank(a).cmp(&rank(b)),
        _ => a.to_string().cmp(&b.to_string()),
    }
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

fn array_insert_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut a) = as_array(v[0]) else { return Ok(Out::Null) };
    let pos = v[1].as_i64().ok_or_else(|| invalid_argument("ARRAY_INSERT position must be an integer"))?;
    let n = a.len() as i64;
    let idx = if pos < 0 { n + pos } else { pos };
    if idx < 0 {
        return Err(invalid_argument(format!("ARRAY_INSERT position {pos} is out of range")));
    }
    while (a.len() as i64) < idx {
        a.push(Value::Null);
    }
    a.insert(idx as usize, val_to_json(v[2]));
    Ok(array(a))
}

fn array_remove_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let x = val_to_json(v[1]);
    Ok(array(a.into_iter().filter(|e| !json_eq(e, &x)).collect()))
}

fn array_reverse_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut a) = as_array(v[0]) else { return Ok(Out::Null) };
    a.reverse();
    Ok(array(a))
}

fn array_sort_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(mut a) = as_array(v[0]) else { return Ok(Out::Null) };
    let asc = !matches!(v.get(1), Some(Val::Bool(false)));
    let nulls_first = match v.get(2) {
        Some(Val::Bool(b)) => *b,
        _ => !asc,
    };
    let (mut nulls, mut vals): (Vec<Value>, Vec<Value>) = a.drain(..).partition(Value::is_null);
    vals.sort_by(|x, y| if asc { json_cmp(x, y) } else { json_cmp(y, x) });
    Ok(array(if nulls_first {
        nulls.extend(vals);
        nulls
    } else {
        vals.extend(nulls);
        vals
    }))
}

fn extreme(v: &[Val], want: Ordering) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let best = a.into_iter().filter(|x| !x.is_null()).reduce(|b, x| if json_cmp(&x, &b) == want { x } else { b });
    Ok(best.map(variant).unwrap_or(Out::Null))
}

fn array_max_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    extreme(v, Ordering::Greater)
}

fn array_min_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    extreme(v, Ordering::Less)
}

fn arrays_overlap_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let (Some(a), Some(b)) = (as_array(v[0]), as_array(v[1])) else { return Ok(Out::Null) };
    Ok(Out::Bool(a.iter().any(|x| b.iter().any(|y| json_eq(x, y)))))
}

/// Multiset intersection / difference, as Snowflake defines them.
fn multiset(v: &[Val], keep_common: bool) -> Result<Out> {
    let (Some(a), Some(mut b)) = (as_array(v[0]), as_array(v[1])) else { return Ok(Out::Null) };
    let mut out = vec![];
    for x in a {
        match b.iter().position(|y| json_eq(&x, y)) {
            Some(i) => {
                b.swap_remove(i);
                if keep_common {
                    out.push(x);
                }
            }
            None if !keep_common => out.push(x),
            None => {}
        }
    }
    Ok(array(out))
}

fn array_intersection_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    multiset(v, true)
}

fn array_except_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    multiset(v, false)
}

fn array_flatten_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let Some(a) = as_array(v[0]) else { return Ok(Out::Null) };
    let mut out = vec![];
    for x in a {
        match x {
            Value::Array(inner) => out.extend(inner),
            Value::Null => return Ok(Out::Null),
            _ => return Err(invalid_argument("ARRAY_FLATTEN: not an array of arrays")),
        }
    }
    Ok(array(out))
}

fn array_generate_range_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let int = |x: &Val| x.as_i64().ok_or_else(|| invalid_argument("ARRAY_GENERATE_RANGE expects integers"));
    let (start, stop) = (int(&v[0])?, int(&v[1])?);
    let step = match v.get(2) {
        Some(s) => int(s)?,
        None => 1,
    };
    if step == 0 {
        return Err(invalid_argument("ARRAY_GENERATE_RANGE step must not be 0"));
    }
    let mut out = vec![];
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::from(i));
        if out.len() > 10_000_000 {
            return Err(invalid_argument("ARRAY_GENERATE_RANGE result too large"));
        }
        i += step;
    }
    Ok(array(out))
}

fn arrays_to_object_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let (Some(keys), Some(vals)) = (as_array(v[0]), as_array(v[1])) else { return Ok(Out::Null) };
    if keys.len() != vals.len() {
        return Err(invalid_argument("ARRAYS_TO_OBJECT: arrays must have the same length"));
    }
    let mut m = Map::new();
    for (k, x) in keys.into_iter().zip(vals) {
        if let Value::String(k) = k {
            m.insert(k, x);
        }
    }
    Ok(variant(Value::Object(m)))
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("array_size", 1, 1, ret_i64, array_size_row).udf(),
        Func::new("array_contains", 2, 2, ret_bool, array_contains_row).udf(),
        Func::new("array_position", 2, 2, ret_i64, array_position_row).udf(),
        Func::new("array_append", 2, 2, ret_variant, array_append_row).lenient().udf(),
        Func::new("array_prepend", 2, 2, ret_variant, array_prepend_row).lenient().udf(),
        Func::new("array_insert", 3, 3, ret_variant, array_insert_row).lenient().udf(),
        Func::new("array_cat", 2, 2, ret_variant, array_cat_row).udf(),
        Func::new("array_compact", 1, 1, ret_variant, array_compact_row).udf(),
        Func::new("array_distinct", 1, 1, ret_variant, array_distinct_row).udf(),
        Func::new("array_slice", 3, 3, ret_variant, array_slice_row).udf(),
        Func::new("array_to_string", 2, 2, ret_utf8, array_to_string_row).udf(),
        Func::new("array_remove", 2, 2, ret_variant, array_remove_row).udf(),
        Func::new("array_reverse", 1, 1, ret_variant, array_reverse_row).udf(),
        Func::new("array_sort", 1, 3, ret_variant, array_sort_row).udf(),
        Func::new("array_max", 1, 1, ret_variant, array_max_row).udf(),
        Func::new("array_min", 1, 1, ret_variant, array_min_row).udf(),
        Func::new("arrays_overlap", 2, 2, ret_bool, arrays_overlap_row).udf(),
        Func::new("array_intersection", 2, 2, ret_variant, array_intersection_row).udf(),
        Func::new("array_except", 2, 2, ret_variant, array_except_row).udf(),
        Func::new("array_flatten", 1, 1, ret_variant, array_flatten_row).udf(),
        Func::new("array_generate_range", 2, 3, ret_variant, array_generate_range_row).udf(),
        Func::new("arrays_to_object", 2, 2, ret_variant, arrays_to_object_row).udf(),
        Func::new("split", 2, 2, ret_variant, split_row).udf(),
    ]
}
