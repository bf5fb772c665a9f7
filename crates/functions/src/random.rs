//! Random-value functions: UUID_STRING, RANDOM([seed]), UNIFORM, NORMAL and
//! RANDSTR. RANDOM and UUID_STRING are volatile (a new value per row); the
//! "data generation" functions derive their value deterministically from
//! their `gen` argument, so UNIFORM(1, 10, RANDOM()) varies per row while
//! UNIFORM(1, 10, 42) is constant, as in Snowflake.

use crate::error::invalid_argument;
use crate::rows::{Ctx, Func, Out, Val, is_string_type, normalized_type, ret_f64, ret_i64, ret_utf8};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ScalarUDF, Volatility};

/// SplitMix64 finaliser: a well-mixed 64-bit hash of `z`.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a generator argument's value.
fn gen_bits(v: Val) -> u64 {
    match v {
        Val::Int(i) => i as u64,
        Val::F64(f) => f.to_bits(),
        Val::Dec(x, _, s) => (x as u64) ^ ((x >> 64) as u64).rotate_left(17) ^ s as u64,
        Val::Bool(b) => b as u64,
        Val::Str(s) | Val::Json(s) => s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
        }),
        Val::Date(d) => d as u64,
        Val::Ts(t, _) | Val::Time(t) => t as u64,
        Val::Bin(b) => b.iter().fold(7u64, |h, x| mix(h ^ *x as u64)),
        Val::Null => 0,
    }
}

/// A uniform f64 in [0, 1) from 64 random bits.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

fn uuid_row(_: &Ctx, _: &[Val]) -> Result<Out> {
    Ok(Out::Str(uuid::Uuid::new_v4().to_string()))
}

fn random_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(Out::Int(match v.first() {
        None => rand::random::<i64>(),
        Some(seed) => mix(gen_bits(*seed) ^ mix(ctx.row as u64 + 1)) as i64,
    }))
}

fn uniform_ret(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let int = |d: &DataType| matches!(normalized_type(d), DataType::Int64 | DataType::Decimal128(_, 0) | DataType::Null);
    Ok(if int(&t[0]) && int(&t[1]) { DataType::Int64 } else { DataType::Float64 })
}

fn uniform_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let h = mix(gen_bits(v[2]));
    if *ctx.ret == DataType::Int64 {
        let (Some(lo), Some(hi)) = (v[0].as_i64(), v[1].as_i64()) else {
            return Err(invalid_argument("UNIFORM bounds must be numbers"));
        };
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        let span = (hi as i128 - lo as i128 + 1) as u128;
        return Ok(Out::Int((lo as i128 + (h as u128 % span) as i128) as i64));
    }
    let (Some(lo), Some(hi)) = (v[0].as_f64(), v[1].as_f64()) else {
        return Err(invalid_argument("UNIFORM bounds must be numbers"));
    };
    Ok(Out::F64(lo + unit(h) * (hi - lo)))
}

fn normal_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let (Some(mean), Some(sd)) = (v[0].as_f64(), v[1].as_f64()) else {
        return Err(invalid_argument("NORMAL mean and stddev must be numbers"));
    };
    let h = mix(gen_bits(v[2]));
    let u1 = 1.0 - unit(h);
    let u2 = unit(mix(h));
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    Ok(Out::F64(mean + sd * z))
}

fn randstr_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let len = v[0].as_i64().filter(|l| *l >= 0).ok_or_else(|| invalid_argument("RANDSTR length must be a non-negative integer"))?;
    let mut h = mix(gen_bits(v[1]));
    let s = (0..len)
        .map(|_| {
            h = mix(h);
            CHARS[(h % CHARS.len() as u64) as usize] as char
        })
        .collect();
    Ok(Out::Str(s))
}

fn random_ret(t: &[DataType], l: &[Option<&ScalarValue>]) -> Result<DataType> {
    if t.first().is_some_and(is_string_type) {
        return Err(invalid_argument("RANDOM seed must be a number"));
    }
    ret_i64(t, l)
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("uuid_string", 0, 0, ret_utf8, uuid_row).volatility(Volatility::Volatile).udf(),
        Func::new("random", 0, 1, random_ret, random_row).volatility(Volatility::Volatile).udf(),
        Func::new("uniform", 3, 3, uniform_ret, uniform_row).udf(),
        Func::new("normal", 3, 3, ret_f64, normal_row).udf(),
        Func::new("randstr", 2, 2, ret_utf8, randstr_row).udf(),
    ]
}
