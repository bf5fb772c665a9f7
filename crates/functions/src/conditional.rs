//! Conditional functions: IFF, DECODE, ZEROIFNULL, NULLIFZERO, EQUAL_NULL,
//! DIV0, DIV0NULL, and GREATEST / LEAST (NULL if any argument is NULL, unlike
//! DataFusion's) with their _IGNORE_NULLS forms.
//!
//! IFF, DECODE and EQUAL_NULL are rewritten (after type coercion) into CASE /
//! IS NOT DISTINCT FROM so only the chosen branch is evaluated, as in
//! Snowflake; their row bodies are an eager fallback for unoptimised plans.
//! NVL, NVL2, IFNULL, COALESCE and NULLIF are DataFusion's own, whose
//! semantics already match Snowflake's.

use crate::error::{division_by_zero, numeric_out_of_range};
use crate::number::{div_round, rescale};
use crate::rows::{Ctx, Func, Out, Val, cmp_vals, normalized_type, ret_bool, val_to_out};
use std::cmp::Ordering;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::expr::Case;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::type_coercion::binary::{comparison_coercion, type_union_resolution};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, ScalarUDF};

fn union_type(types: &[DataType]) -> Result<DataType> {
    let non_null: Vec<DataType> = types.iter().filter(|t| !t.is_null()).cloned().collect();
    if non_null.is_empty() {
        return Ok(DataType::Null);
    }
    match type_union_resolution(&non_null) {
        Some(t) => Ok(normalized_type(&t)),
        None => plan_err!("Incompatible argument types {types:?}"),
    }
}

fn compare_type(types: &[DataType]) -> Result<DataType> {
    let mut acc = DataType::Null;
    for t in types {
        acc = if acc.is_null() {
            t.clone()
        } else if t.is_null() {
            acc
        } else {
            match comparison_coercion(&acc, t) {
                Some(c) => c,
                None => return plan_err!("Cannot compare values of types {acc} and {t}"),
            }
        };
    }
    Ok(normalized_type(&acc))
}

fn ret_first(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(match types.first() {
        Some(DataType::Null) | None => DataType::Int64,
        Some(t) => t.clone(),
    })
}

// ---- IFF -------------------------------------------------------------------

fn iff_coerce(t: &[DataType]) -> Result<Vec<DataType>> {
    let u = union_type(&t[1..])?;
    Ok(vec![DataType::Boolean, u.clone(), u])
}

fn iff_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    union_type(&t[1..])
}

fn iff_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let pick = if matches!(v[0], Val::Bool(true)) { v[1] } else { v[2] };
    Ok(val_to_out(pick, ctx.ret))
}

fn iff_simplify(args: Vec<Expr>, _: &SimplifyContext) -> Result<ExprSimplifyResult> {
    let [c, a, b]: [Expr; 3] = match args.try_into() {
        Ok(x) => x,
        Err(args) => return Ok(ExprSimplifyResult::Original(args)),
    };
    Ok(ExprSimplifyResult::Simplified(Expr::Case(Case::new(
        None,
        vec![(Box::new(c), Box::new(a))],
        Some(Box::new(b)),
    ))))
}

// ---- DECODE ----------------------------------------------------------------

/// (comparison type, result type) of DECODE(expr, s1, r1, …[, default]).
fn decode_types(t: &[DataType]) -> Result<(DataType, DataType)> {
    let pairs = (t.len() - 1) / 2;
    let mut cmp = vec![t[0].clone()];
    let mut res = vec![];
    for i in 0..pairs {
        cmp.push(t[1 + 2 * i].clone());
        res.push(t[2 + 2 * i].clone());
    }
    if t.len().is_multiple_of(2) {
        res.push(t[t.len() - 1].clone());
    }
    Ok((compare_type(&cmp)?, union_type(&res)?))
}

fn decode_coerce(t: &[DataType]) -> Result<Vec<DataType>> {
    let (c, r) = decode_types(t)?;
    Ok((0..t.len())
        .map(|i| if i == 0 || (i % 2 == 1 && i + 1 < t.len()) { c.clone() } else { r.clone() })
        .collect())
}

fn decode_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    if t.len() < 3 {
        return plan_err!("DECODE needs at least 3 arguments");
    }
    Ok(decode_types(t)?.1)
}

fn decode_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let pairs = (v.len() - 1) / 2;
    for i in 0..pairs {
        if v[0] == v[1 + 2 * i] {
            return Ok(val_to_out(v[2 + 2 * i], ctx.ret));
        }
    }
    if v.len().is_multiple_of(2) {
        return Ok(val_to_out(v[v.len() - 1], ctx.ret));
    }
    Ok(Out::Null)
}

fn not_distinct(a: Expr, b: Expr) -> Expr {
    Expr::BinaryExpr(BinaryExpr::new(Box::new(a), Operator::IsNotDistinctFrom, Box::new(b)))
}

fn decode_simplify(args: Vec<Expr>, _: &SimplifyContext) -> Result<ExprSimplifyResult> {
    if args.len() < 3 {
        return Ok(ExprSimplifyResult::Original(args));
    }
    let subject = args[0].clone();
    let mut chunks = args[1..].chunks_exact(2);
    let mut when_then = vec![];
    for pair in &mut chunks {
        let cond = not_distinct(subject.clone(), pair[0].clone());
        when_then.push((Box::new(cond), Box::new(pair[1].clone())));
    }
    let default = chunks.remainder().first().cloned().map(Box::new);
    Ok(ExprSimplifyResult::Simplified(Expr::Case(Case::new(None, when_then, default))))
}

// ---- EQUAL_NULL ------------------------------------------------------------

fn equal_null_coerce(t: &[DataType]) -> Result<Vec<DataType>> {
    let c = compare_type(t)?;
    Ok(vec![c.clone(), c])
}

fn equal_null_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Bool(v[0] == v[1]))
}

fn equal_null_simplify(args: Vec<Expr>, _: &SimplifyContext) -> Result<ExprSimplifyResult> {
    let [a, b]: [Expr; 2] = match args.try_into() {
        Ok(x) => x,
        Err(args) => return Ok(ExprSimplifyResult::Original(args)),
    };
    Ok(ExprSimplifyResult::Simplified(not_distinct(a, b)))
}

// ---- ZEROIFNULL / NULLIFZERO -----------------------------------------------

fn zeroifnull_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match (v[0], ctx.ret) {
        (Val::Null, DataType::Float64) => Out::F64(0.0),
        (Val::Null, DataType::Decimal128(..)) => Out::Dec(0),
        (Val::Null, _) => Out::Int(0),
        (x, ret) => val_to_out(x, ret),
    })
}

fn nullifzero_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match v[0] {
        Val::Int(0) | Val::Dec(0, _, _) => Out::Null,
        Val::F64(0.0) => Out::Null,
        x => val_to_out(x, ctx.ret),
    })
}

// ---- DIV0 / DIV0NULL -------------------------------------------------------

fn num_scale(t: &DataType) -> Option<i8> {
    match t {
        DataType::Int64 | DataType::Null | DataType::Boolean => Some(0),
        DataType::Decimal128(_, s) => Some(*s),
        _ => None,
    }
}

fn div0_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match (num_scale(&t[0]), num_scale(&t[1])) {
        (Some(s1), Some(_)) => Ok(DataType::Decimal128(38, s1.max((s1 + 6).min(12)))),
        _ => Ok(DataType::Float64),
    }
}

fn divide(ctx: &Ctx, a: Val, b: Val) -> Result<Out> {
    if let DataType::Decimal128(_, scale) = ctx.ret {
        let (x1, s1) = match a {
            Val::Int(i) => (i as i128, 0),
            Val::Dec(x, _, s) => (x, s as i32),
            _ => return Ok(Out::Null),
        };
        let (x2, s2) = match b {
            Val::Int(i) => (i as i128, 0),
            Val::Dec(x, _, s) => (x, s as i32),
            _ => return Ok(Out::Null),
        };
        if x2 == 0 {
            return Ok(Out::Dec(0));
        }
        // a/b at `scale`: x1 * 10^(scale - s1 + s2) / x2, with an extra digit
        // kept where possible so rounding is exact.
        let shift = *scale as i32 - s1 + s2;
        let num = rescale(x1, 0, shift).ok_or_else(|| numeric_out_of_range("DIV0"))?;
        let (num, den) = if x2 < 0 { (-num, -x2) } else { (num, x2) };
        return Ok(Out::Dec(div_round(num, den)));
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Err(division_by_zero());
    };
    Ok(Out::F64(if y == 0.0 { 0.0 } else { x / y }))
}

fn div0_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    divide(ctx, v[0], v[1])
}

fn div0null_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    match (v[0], v[1]) {
        (_, Val::Null) => Ok(zero(ctx)),
        (Val::Null, _) => Ok(Out::Null),
        (a, b) => divide(ctx, a, b),
    }
}

fn zero(ctx: &Ctx) -> Out {
    match ctx.ret {
        DataType::Decimal128(..) => Out::Dec(0),
        _ => Out::F64(0.0),
    }
}

// ---- GREATEST / LEAST -------------------------------------------------------

fn all_union_coerce(t: &[DataType]) -> Result<Vec<DataType>> {
    let u = union_type(t)?;
    Ok(vec![u; t.len()])
}

fn all_union_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    union_type(t)
}

fn pick_extreme(ctx: &Ctx, v: &[Val], want: Ordering) -> Result<Out> {
    let mut best: Option<Val> = None;
    for x in v.iter().filter(|x| !x.is_null()) {
        best = match best {
            Some(b) if cmp_vals(*x, b) != Some(want) => Some(b),
            _ => Some(*x),
        };
    }
    Ok(best.map(|b| val_to_out(b, ctx.ret)).unwrap_or(Out::Null))
}

fn greatest_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    pick_extreme(ctx, v, Ordering::Greater)
}

fn least_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    pick_extreme(ctx, v, Ordering::Less)
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("iff", 3, 3, iff_ret, iff_row).lenient().coerce(iff_coerce).simplify(iff_simplify).udf(),
        Func::new("decode", 3, usize::MAX, decode_ret, decode_row)
            .lenient()
            .coerce(decode_coerce)
            .simplify(decode_simplify)
            .udf(),
        Func::new("equal_null", 2, 2, ret_bool, equal_null_row)
            .lenient()
            .coerce(equal_null_coerce)
            .simplify(equal_null_simplify)
            .udf(),
        Func::new("zeroifnull", 1, 1, ret_first, zeroifnull_row).lenient().udf(),
        Func::new("nullifzero", 1, 1, ret_first, nullifzero_row).udf(),
        Func::new("div0", 2, 2, div0_ret, div0_row).udf(),
        Func::new("div0null", 2, 2, div0_ret, div0null_row).lenient().udf(),
        // Snowflake's GREATEST/LEAST return NULL when any argument is NULL.
        Func::new("greatest", 1, usize::MAX, all_union_ret, greatest_row).coerce(all_union_coerce).udf(),
        Func::new("least", 1, usize::MAX, all_union_ret, least_row).coerce(all_union_coerce).udf(),
        Func::new("greatest_ignore_nulls", 1, usize::MAX, all_union_ret, greatest_row)
            .lenient()
            .coerce(all_union_coerce)
            .udf(),
        Func::new("least_ignore_nulls", 1, usize::MAX, all_union_ret, least_row)
            .lenient()
            .coerce(all_union_coerce)
            .udf(),
    ]
}
