//! Argument and result values of the row-at-a-time functions.
//!
//! Arguments are normalised into a handful of Arrow types (see [`Col`]) and
//! read row by row as borrowed [`Val`]s; a function body returns an [`Out`]
//! per row, which [`OutBuilder`] appends to an array of the declared return
//! type.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder,
    Date32Array, Date32Builder, Decimal128Array, Decimal128Builder, Float64Array,
    Float64Builder, Int64Array, Int64Builder, LargeStringArray, LargeStringBuilder,
    StringArray, StringBuilder, StringViewArray, StringViewBuilder, Time64NanosecondArray,
    Time64NanosecondBuilder, TimestampNanosecondArray, TimestampNanosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int64Type, TimeUnit,
    Time64NanosecondType, TimestampNanosecondType,
};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ColumnarValue;
use std::sync::Arc;

pub(crate) const UTC: &str = "+00:00";

/// One argument value of one row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// Unscaled value, precision, scale.
    Dec(i128, u8, i8),
    F64(f64),
    /// Plain VARCHAR.
    Str(&'a str),
    /// VARIANT / OBJECT / ARRAY JSON text.
    Json(&'a str),
    Date(i32),
    /// Nanoseconds since the epoch; `true` when time-zone aware (LTZ/TZ).
    Ts(i64, bool),
    /// Nanoseconds since midnight.
    Time(i64),
    Bin(&'a [u8]),
}

impl<'a> Val<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The text of a string argument (VARCHAR, or a VARIANT holding a JSON string
    /// is NOT unwrapped here).
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer argument (integers, integral decimals, integral floats).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Val::Int(i) => Some(i),
            Val::Dec(v, _, s) => {
                let d = 10i128.checked_pow(s.max(0) as u32)?;
                i64::try_from(crate::number::div_round(v, d)).ok()
            }
            Val::F64(f) if f.is_finite() => Some(f.round() as i64),
            Val::Bool(b) => Some(b as i64),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Json(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A numeric argument as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Val::Int(i) => Some(i as f64),
            Val::Dec(v, _, s) => Some(v as f64 / 10f64.powi(s as i32)),
            Val::F64(f) => Some(f),
            Val::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
}

/// Orders two values of compatible types (numbers across integer, decimal
/// and float; strings; temporals). `None` when they cannot be compared.
pub(crate) fn cmp_vals(a: Val, b: Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(&y)),
        (Val::Dec(x, _, s), Val::Dec(y, _, t)) if s == t => Some(x.cmp(&y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        (Val::Str(x) | Val::Json(x), Val::Str(y) | Val::Json(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(&y)),
        (Val::Ts(x, _), Val::Ts(y, _)) | (Val::Time(x), Val::Time(y)) => Some(x.cmp(&y)),
        (Val::Bin(x), Val::Bin(y)) => Some(x.cmp(y)),
        (x, y) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// One result value of one row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Out {
    Null,
    Bool(bool),
    Int(i64),
    /// Unscaled value at the return type's scale.
    Dec(i128),
    F64(f64),
    Str(String),
    Date(i32),
    Ts(i64),
    Time(i64),
    Bin(Vec<u8>),
}

/// A normalised argument column.
pub(crate) enum ColData {
    Null,
    Bool(BooleanArray),
    Int(Int64Array),
    Dec(Decimal128Array, u8, i8),
    F64(Float64Array),
    Str(StringArray),
    StrView(StringViewArray),
    Json(LargeStringArray),
    Date(Date32Array),
    Ts(TimestampNanosecondArray, bool),
    Time(Time64NanosecondArray),
    Bin(BinaryArray),
}

/// An argument column (a scalar is a column of length one, repeated).
pub(crate) struct Col {
    data: ColData,
    scalar: bool,
}

/// Returns the type an argument of `dt` is normalised to before evaluation.
pub(crate) fn normalized_type(dt: &DataType) -> DataType {
    use DataType::*;
    match dt {
        Null | Boolean | Int64 | Float64 | Utf8 | Utf8View | LargeUtf8 | Date32 | Binary => {
            dt.clone()
        }
        Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32 => Int64,
        UInt64 => Decimal128(20, 0),
        Float16 | Float32 => Float64,
        Decimal128(p, s) => Decimal128(*p, *s),
        Decimal32(p, s) | Decimal64(p, s) => Decimal128(*p, *s),
        Decimal256(p, s) => Decimal128((*p).min(38), *s),
        Date64 => Date32,
        Timestamp(_, tz) => Timestamp(TimeUnit::Nanosecond, tz.clone()),
        Time32(_) | Time64(_) => Time64(TimeUnit::Nanosecond),
        LargeBinary | BinaryView | FixedSizeBinary(_) => Binary,
        Dictionary(_, v) => normalized_type(v),
        _ => Utf8,
    }
}

impl Col {
    pub fn new(value: &ColumnarValue) -> Result<Col> {
        let (array, scalar) = match value {
            ColumnarValue::Array(a) => (Arc::clone(a), false),
            ColumnarValue::Scalar(s) => (s.to_array_of_size(1)?, true),
        };
        Ok(Col { data: Self::data_of(array)?, scalar })
    }

    fn data_of(array: ArrayRef) -> Result<ColData> {
        let target = normalized_type(array.data_type());
        let array = if &target != array.data_type() { cast(&array, &target)? } else { array };
        Ok(match array.data_type() {
            DataType::Null => ColData::Null,
            DataType::Boolean => ColData::Bool(array.as_boolean().clone()),
            DataType::Int64 => ColData::Int(array.as_primitive::<Int64Type>().clone()),
            DataType::Float64 => ColData::F64(array.as_primitive::<Float64Type>().clone()),
            DataType::Decimal128(p, s) => {
                ColData::Dec(array.as_primitive::<Decimal128Type>().clone(), *p, *s)
            }
            DataType::Utf8 => ColData::Str(array.as_string::<i32>().clone()),
            DataType::Utf8View => ColData::StrView(array.as_string_view().clone()),
            DataType::LargeUtf8 => ColData::Json(array.as_string::<i64>().clone()),
            DataType::Date32 => ColData::Date(array.as_primitive::<Date32Type>().clone()),
            DataType::Timestamp(_, tz) => ColData::Ts(
                array.as_primitive::<TimestampNanosecondType>().clone(),
                tz.is_some(),
            ),
            DataType::Time64(_) => {
                ColData::Time(array.as_primitive::<Time64NanosecondType>().clone())
            }
            DataType::Binary => ColData::Bin(array.as_binary::<i32>().clone()),
            other => return exec_err!("unsupported argument type {other}"),
        })
    }

    #[inline]
    pub fn get(&self, row: usize) -> Val<'_> {
        let i = if self.scalar { 0 } else { row };
        macro_rules! pick {
            ($a:expr, $f:expr) => {
                if $a.is_null(i) { Val::Null } else { $f }
            };
        }
        match &self.data {
            ColData::Null => Val::Null,
            ColData::Bool(a) => pick!(a, Val::Bool(a.value(i))),
            ColData::Int(a) => pick!(a, Val::Int(a.value(i))),
            ColData::Dec(a, p, s) => pick!(a, Val::Dec(a.value(i), *p, *s)),
            ColData::F64(a) => pick!(a, Val::F64(a.value(i))),
            ColData::Str(a) => pick!(a, Val::Str(a.value(i))),
            ColData::StrView(a) => pick!(a, Val::Str(a.value(i))),
            ColData::Json(a) => pick!(a, Val::Json(a.value(i))),
            ColData::Date(a) => pick!(a, Val::Date(a.value(i))),
            ColData::Ts(a, tz) => pick!(a, Val::Ts(a.value(i), *tz)),
            ColData::Time(a) => pick!(a, Val::Time(a.value(i))),
            ColData::Bin(a) => pick!(a, Val::Bin(a.value(i))),
        }
    }
}

/// Builds the result array of a function from per-row [`Out`] values.
pub(crate) enum OutBuilder {
    Null(usize),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, i8),
    Utf8(StringBuilder),
    View(StringViewBuilder),
    Large(LargeStringBuilder),
    Date(Date32Builder),
    Ts(TimestampNanosecondBuilder),
    Time(Time64NanosecondBuilder),
    Bin(BinaryBuilder),
}

impl OutBuilder {
    pub fn new(dt: &DataType, cap: usize) -> Result<Self> {
        Ok(match dt {
            DataType::Null => OutBuilder::Null(0),
            DataType::Boolean => OutBuilder::Bool(BooleanBuilder::with_capacity(cap)),
            DataType::Int64 => OutBuilder::Int(Int64Builder::with_capacity(cap)),
            DataType::Float64 => OutBuilder::F64(Float64Builder::with_capacity(cap)),
            DataType::Decimal128(p, s) => OutBuilder::Dec(
                Decimal128Builder::with_capacity(cap).with_precision_and_scale(*p, *s)?,
                *s,
            ),
            DataType::Utf8 => OutBuilder::Utf8(StringBuilder::with_capacity(cap, cap * 8)),
            DataType::Utf8View => OutBuilder::View(StringViewBuilder::with_capacity(cap)),
            DataType::LargeUtf8 => {
                OutBuilder::Large(LargeStringBuilder::with_capacity(cap, cap * 8))
            }
            DataType::Date32 => OutBuilder::Date(Date32Builder::with_capacity(cap)),
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => OutBuilder::Ts(
                TimestampNanosecondBuilder::with_capacity(cap).with_timezone_opt(tz.clone()),
            ),
            DataType::Time64(TimeUnit::Nanosecond) => {
                OutBuilder::Time(Time64NanosecondBuilder::with_capacity(cap))
            }
            DataType::Binary => OutBuilder::Bin(BinaryBuilder::with_capacity(cap, cap * 8)),
            other => return exec_err!("unsupported function return type {other}"),
        })
    }

    pub fn push_null(&mut self) {
        match self {
            OutBuilder::Null(n) => *n += 1,
            OutBuilder::Bool(b) => b.append_null(),
            OutBuilder::Int(b) => b.append_null(),
            OutBuilder::F64(b) => b.append_null(),
            OutBuilder::Dec(b, _) => b.append_null(),
            OutBuilder::Utf8(b) => b.append_null(),
            OutBuilder::View(b) => b.append_null(),
            OutBuilder::Large(b) => b.append_null(),
            OutBuilder::Date(b) => b.append_null(),
            OutBuilder::Ts(b) => b.append_null(),
            OutBuilder::Time(b) => b.append_null(),
            OutBuilder::Bin(b) => b.append_null(),
        }
    }

    pub fn push(&mut self, out: Out) -> Result<()> {
        match (self, out) {
            (b, Out::Null) => b.push_null(),
            (OutBuilder::Bool(b), Out::Bool(v)) => b.append_value(v),
            (OutBuilder::Int(b), Out::Int(v)) => b.append_value(v),
            (OutBuilder::F64(b), Out::F64(v)) => b.append_value(v),
            (OutBuilder::F64(b), Out::Int(v)) => b.append_value(v as f64),
            (OutBuilder::Dec(b, _), Out::Dec(v)) => b.append_value(v),
            (OutBuilder::Dec(b, s), Out::Int(v)) => {
                b.append_value(v as i128 * 10i128.pow((*s).max(0) as u32))
            }
            (OutBuilder::Utf8(b), Out::Str(v)) => b.append_value(v),
            (OutBuilder::View(b), Out::Str(v)) => b.append_value(v),
            (OutBuilder::Large(b), Out::Str(v)) => b.append_value(v),
            (OutBuilder::Date(b), Out::Date(v)) => b.append_value(v),
            (OutBuilder::Ts(b), Out::Ts(v)) => b.append_value(v),
            (OutBuilder::Time(b), Out::Time(v)) => b.append_value(v),
            (OutBuilder::Bin(b), Out::Bin(v)) => b.append_value(v),
            (_, other) => return exec_err!("internal: result {other:?} does not fit return type"),
        }
        Ok(())
    }

    pub fn finish(self) -> ArrayRef {
        match self {
            OutBuilder::Null(n) => Arc::new(datafusion::arrow::array::NullArray::new(n)),
            OutBuilder::Bool(mut b) => Arc::new(b.finish()),
            OutBuilder::Int(mut b) => Arc::new(b.finish()),
            OutBuilder::F64(mut b) => Arc::new(b.finish()),
            OutBuilder::Dec(mut b, _) => Arc::new(b.finish()),
            OutBuilder::Utf8(mut b) => Arc::new(b.finish()),
            OutBuilder::View(mut b) => Arc::new(b.finish()),
            OutBuilder::Large(mut b) => Arc::new(b.finish()),
            OutBuilder::Date(mut b) => Arc::new(b.finish()),
            OutBuilder::Ts(mut b) => Arc::new(b.finish()),
            OutBuilder::Time(mut b) => Arc::new(b.finish()),
            OutBuilder::Bin(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Passes an argument value through as a result of type `ret` (numeric values
/// are converted between integer, decimal and float as needed).
pub(crate) fn val_to_out(v: Val, ret: &DataType) -> Out {
    match (v, ret) {
        (Val::Null, _) => Out::Null,
        (Val::Int(i), DataType::Decimal128(_, s)) => Out::Dec(i as i128 * 10i128.pow((*s).max(0) as u32)),
        (Val::Int(i), DataType::Float64) => Out::F64(i as f64),
        (Val::Dec(x, _, s), DataType::Decimal128(_, t)) => {
            Out::Dec(crate::number::rescale(x, s as i32, *t as i32).unwrap_or(x))
        }
        (Val::Dec(..), DataType::Int64) => v.as_i64().map(Out::Int).unwrap_or(Out::Null),
        (Val::Dec(..), DataType::Float64) => {
            v.as_f64().map(Out::F64).unwrap_or(Out::Null)
        }
        (Val::Bool(b), _) => Out::Bool(b),
        (Val::Int(i), _) => Out::Int(i),
        (Val::Dec(x, _, _), _) => Out::Dec(x),
        (Val::F64(f), _) => Out::F64(f),
        (Val::Str(s) | Val::Json(s), _) => Out::Str(s.to_string()),
        (Val::Date(d), DataType::Timestamp(..)) => Out::Ts(d as i64 * crate::temporal::NANOS_PER_DAY),
        (Val::Date(d), _) => Out::Date(d),
        (Val::Ts(t, _), _) => Out::Ts(t),
        (Val::Time(t), _) => Out::Time(t),
        (Val::Bin(b), _) => Out::Bin(b.to_vec()),
    }
}
