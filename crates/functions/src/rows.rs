//! Row-at-a-time scalar functions.
//!
//! [`Func`] packages a name, arity, return-type rule and a per-row body (a
//! plain `fn` over [`Val`]s returning an [`Out`]) into a `ScalarUDFImpl`, so
//! most Snowflake functions are a single small Rust function. Scalar
//! arguments are evaluated once; volatile functions produce one value per row.

pub(crate) use crate::values::*;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What a row body knows besides its argument values.
pub(crate) struct Ctx<'a> {
    /// The declared return type.
    pub ret: &'a DataType,
    /// The (normalised) argument types.
    pub types: &'a [DataType],
    /// Row index within the batch.
    pub row: usize,
}

/// Computes a return type from argument types and literal arguments.
pub(crate) type RetFn = fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
/// Computes one row.
pub(crate) type RowFn = fn(&Ctx, &[Val]) -> Result<Out>;
/// Rewrites a call into another expression (after type coercion).
pub(crate) type SimplifyFn = fn(Vec<Expr>, &SimplifyContext) -> Result<ExprSimplifyResult>;
/// Coerces argument types (plan time).
pub(crate) type CoerceFn = fn(&[DataType]) -> Result<Vec<DataType>>;

/// A scalar function defined by plain functions.
#[derive(Debug)]
pub(crate) struct Func {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
    min_args: usize,
    max_args: usize,
    ret: RetFn,
    row: RowFn,
    /// NULL in any argument gives NULL without calling `row`.
    strict: bool,
    coerce: Option<CoerceFn>,
    simplify: Option<SimplifyFn>,
}

impl PartialEq for Func {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}
impl Eq for Func {}
impl Hash for Func {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Func {
    /// A strict, immutable function taking `min..=max` arguments.
    pub fn new(name: &'static str, min: usize, max: usize, ret: RetFn, row: RowFn) -> Func {
        Func {
            name,
            aliases: vec![],
            signature: Signature::user_defined(Volatility::Immutable),
            min_args: min,
            max_args: max,
            ret,
            row,
            strict: true,
            coerce: None,
            simplify: None,
        }
    }
    pub fn alias(mut self, a: &str) -> Func {
        self.aliases.push(a.to_string());
        self
    }
    /// The body sees NULL arguments itself.
    pub fn lenient(mut self) -> Func {
        self.strict = false;
        self
    }
    pub fn volatility(mut self, v: Volatility) -> Func {
        self.signature = Signature::user_defined(v);
        self
    }
    pub fn coerce(mut self, f: CoerceFn) -> Func {
        self.coerce = Some(f);
        self
    }
    pub fn simplify(mut self, f: SimplifyFn) -> Func {
        self.simplify = Some(f);
        self
    }
    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    fn check_arity(&self, n: usize) -> Result<()> {
        if n >= self.min_args && n <= self.max_args {
            return Ok(());
        }
        let expected = if self.min_args == self.max_args {
            format!("{}", self.min_args)
        } else if self.max_args == usize::MAX {
            format!("at least {}", self.min_args)
        } else {
            format!("{} to {}", self.min_args, self.max_args)
        };
        plan_err!(
            "Invalid number of arguments for function {}: expected {expected}, got {n}",
            self.name.to_uppercase()
        )
    }
}

impl ScalarUDFImpl for Func {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.check_arity(arg_types.len())?;
        let none = vec![None; arg_types.len()];
        let norm: Vec<DataType> = arg_types.iter().map(normalized_type).collect();
        (self.ret)(&norm, &none)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.check_arity(args.arg_fields.len())?;
        let norm: Vec<DataType> =
            args.arg_fields.iter().map(|f| normalized_type(f.data_type())).collect();
        let dt = (self.ret)(&norm, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, dt, true)))
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.check_arity(arg_types.len())?;
        match self.coerce {
            Some(f) => f(arg_types),
            None => Ok(arg_types.to_vec()),
        }
    }
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        match self.simplify {
            Some(f) => f(args, info),
            None => Ok(ExprSimplifyResult::Original(args)),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        eval_rows(
            &args.args,
            args.number_rows,
            args.return_field.data_type(),
            self.signature.volatility == Volatility::Volatile,
            self.strict,
            self.row,
        )
    }
}

/// Evaluates `row` over every row of `args`, producing `ret`.
pub(crate) fn eval_rows(
    args: &[ColumnarValue],
    number_rows: usize,
    ret: &DataType,
    volatile: bool,
    strict: bool,
    row: RowFn,
) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let as_scalar = all_scalar && !volatile;
    let rows = if as_scalar { 1 } else { number_rows };
    let cols = args.iter().map(Col::new).collect::<Result<Vec<_>>>()?;
    let types: Vec<DataType> = args.iter().map(|a| normalized_type(&a.data_type())).collect();
    let mut builder = OutBuilder::new(ret, rows)?;
    let mut vals: Vec<Val> = vec![Val::Null; cols.len()];
    for r in 0..rows {
        let mut any_null = false;
        for (slot, col) in vals.iter_mut().zip(&cols) {
            *slot = col.get(r);
            any_null |= slot.is_null();
        }
        if strict && any_null {
            builder.push_null();
            continue;
        }
        let ctx = Ctx { ret, types: &types, row: r };
        builder.push(row(&ctx, &vals)?)?;
    }
    let array = builder.finish();
    if as_scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Literal string argument `i` (for return-type decisions), if any.
pub(crate) fn lit_str<'a>(scalars: &[Option<&'a ScalarValue>], i: usize) -> Option<&'a str> {
    match scalars.get(i).copied().flatten()? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => Some(s.as_str()),
        ScalarValue::LargeUtf8(Some(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// Literal integer argument `i`, if any.
pub(crate) fn lit_i64(scalars: &[Option<&ScalarValue>], i: usize) -> Option<i64> {
    let s = scalars.get(i).copied().flatten()?;
    if s.is_null() {
        return None;
    }
    match s.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(v) => v,
        _ => None,
    }
}

/// True for the string types (VARCHAR and VARIANT).
pub(crate) fn is_string_type(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// Return-type rule helpers.
pub(crate) fn ret_bool(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}
pub(crate) fn ret_i64(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}
pub(crate) fn ret_f64(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Float64)
}
pub(crate) fn ret_utf8(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}
pub(crate) fn ret_variant(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::LargeUtf8)
}
pub(crate) fn ret_date(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Date32)
}
pub(crate) fn ret_ntz(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Timestamp(TimeUnit::Nanosecond, None))
}
pub(crate) fn ret_ltz(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())))
}
pub(crate) fn ret_time(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Time64(TimeUnit::Nanosecond))
}
