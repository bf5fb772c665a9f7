//! Numeric conversions: TO_NUMBER / TO_DECIMAL / TO_NUMERIC, TO_DOUBLE,
//! TO_BOOLEAN (and their TRY_ forms), plus the decimal helpers they share:
//! exact decimal parsing, rescaling with half-away-from-zero rounding, and
//! Snowflake-style rendering of floats and numeric format models.

use crate::error::{boolean_not_recognized, numeric_not_recognized, numeric_out_of_range};
use crate::rows::{Ctx, Func, Out, Val, is_string_type, lit_i64, ret_bool, ret_f64};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::ScalarUDF;

/// `a / b` rounded half away from zero (b > 0).
pub(crate) fn div_round(a: i128, b: i128) -> i128 {
    let q = a / b;
    let r = a % b;
    if r.abs() * 2 >= b { q + a.signum() } else { q }
}

/// Changes the scale of an unscaled decimal, rounding half away from zero.
pub(crate) fn rescale(v: i128, from: i32, to: i32) -> Option<i128> {
    if to >= from {
        v.checked_mul(10i128.checked_pow((to - from) as u32)?)
    } else {
        let d = 10i128.checked_pow((from - to) as u32)?;
        Some(div_round(v, d))
    }
}

/// Parses a decimal literal exactly: `[+-]digits[.digits][e[+-]digits]`.
/// Returns the unscaled value and its scale.
pub(crate) fn parse_decimal(s: &str) -> Option<(i128, i32)> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let mut v: i128 = 0;
    let mut scale = frac.len() as i32 - exp;
    let mut dropped = 0;
    for (i, b) in digits.bytes().enumerate() {
        if i >= 38 {
            // Digits beyond 38 cannot be represented; they only matter for rounding.
            dropped += 1;
            if i == 38 && b >= b'5' {
                v += 1;
            }
            continue;
        }
        v = v * 10 + (b - b'0') as i128;
    }
    scale -= dropped;
    if scale < 0 {
        v = v.checked_mul(10i128.checked_pow((-scale) as u32)?)?;
        scale = 0;
    }
    Some((if neg { -v } else { v }, scale))
}

/// Renders an unscaled decimal with exactly `scale` fractional digits.
pub(crate) fn fmt_decimal(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return (v * 10i128.pow((-scale) as u32)).to_string();
    }
    let s = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if s.len() <= scale { format!("{}{s}", "0".repeat(scale + 1 - s.len())) } else { s };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{i}.{f}", if v < 0 { "-" } else { "" })
}

/// Renders a float like Snowflake (up to 15 significant digits, `%g` style).
pub(crate) fn fmt_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return "0".into();
    }
    let e = format!("{f:.14e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..15).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let s = format!("{:.*}", (14 - exp) as usize, f);
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    }
}

/// Formats a number with a numeric format model such as `'999,999.00'`,
/// `'0000'`, `'$9,999.99'` or `'FM999.9'`.
pub(crate) fn fmt_number_model(v: f64, exact: Option<(i128, i8)>, fmt: &str) -> String {
    let fm = fmt.len() >= 2 && fmt[..2].eq_ignore_ascii_case("FM");
    let model = if fm { &fmt[2..] } else { fmt };
    let (int_model, frac_model) = match model.find(['.', 'D', 'd']) {
        Some(i) => (&model[..i], &model[i + 1..]),
        None => (model, ""),
    };
    let frac_digits = frac_model.chars().filter(|c| matches!(c, '9' | '0')).count();
    let int_slots = int_model.chars().filter(|c| matches!(c, '9' | '0')).count();
    let rounded = match exact {
        Some((x, s)) => rescale(x, s as i32, frac_digits as i32).unwrap_or(0),
        None => (v * 10f64.powi(frac_digits as i32)).round() as i128,
    };
    let neg = rounded < 0;
    let text = fmt_decimal(rounded.abs(), frac_digits as i8);
    let (int_text, frac_text) = text.split_once('.').unwrap_or((&text, ""));
    let int_text = if int_text == "0" && int_model.contains('9') && !int_model.contains('0') {
        ""
    } else {
        int_text
    };
    if int_text.len() > int_slots {
        return "#".repeat(model.len() + 1);
    }
    // Fill the integer model right to left.
    let mut digits = int_text.chars().rev();
    let mut out_rev: Vec<char> = Vec::new();
    let mut leading_zero_fill = false;
    for c in int_model.chars().rev() {
        match c {
            '9' | '0' => match digits.next() {
                Some(d) => out_rev.push(d),
                None => {
                    leading_zero_fill |= c == '0';
                    out_rev.push(if leading_zero_fill || c == '0' { '0' } else { ' ' });
                }
            },
            ',' | 'G' | 'g' => {
                let more = out_rev.last().is_some_and(|c| c.is_ascii_digit())
                    && (digits.clone().next().is_some() || leading_zero_fill);
                out_rev.push(if more { ',' } else { ' ' });
            }
            other => out_rev.push(other),
        }
    }
    let int_part: String = out_rev.into_iter().rev().collect();
    let mut s = String::new();
    s.push_str(&int_part);
    if !frac_model.is_empty() || model.contains('.') {
        s.push('.');
        s.push_str(frac_text);
    }
    // The sign goes in front of the first digit (or currency symbol).
    let first = s.find(|c: char| c.is_ascii_digit() || c == '.' || c == '$').unwrap_or(0);
    let sign = if neg { "-" } else { " " };
    let s = format!("{}{sign}{}", &s[..first], &s[first..]);
    if fm { s.replace(' ', "") } else { s }
}

/// Swallows user errors for the TRY_ functions.
pub(crate) fn try_out(r: Result<Out>) -> Result<Out> {
    match r {
        Err(DataFusionError::External(e)) if e.is::<crate::error::SfFunctionError>() => Ok(Out::Null),
        other => other,
    }
}

/// Where TO_NUMBER's optional arguments are: (format index, precision index, scale index).
fn number_arg_layout(types: &[DataType]) -> (Option<usize>, Option<usize>, Option<usize>) {
    let fmt = types.get(1).filter(|t| is_string_type(t)).map(|_| 1);
    let first_num = if fmt.is_some() { 2 } else { 1 };
    let p = (types.len() > first_num).then_some(first_num);
    let s = (types.len() > first_num + 1).then_some(first_num + 1);
    (fmt, p, s)
}

fn ret_number(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let (_, p, s) = number_arg_layout(types);
    let prec = p.and_then(|i| lit_i64(scalars, i)).unwrap_or(38);
    let scale = s.and_then(|i| lit_i64(scalars, i)).unwrap_or(0);
    if !(1..=38).contains(&prec) || scale < 0 || scale > prec {
        return plan_err!("Invalid precision/scale ({prec}, {scale}) for TO_NUMBER");
    }
    Ok(if scale == 0 { DataType::Int64 } else { DataType::Decimal128(prec as u8, scale as i8) })
}

fn to_number_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    let (fmt, p, _) = number_arg_layout(ctx.types);
    let (prec, scale) = match ctx.ret {
        DataType::Decimal128(p, s) => (*p as u32, *s as i32),
        _ => (p.and_then(|i| v[i].as_i64()).unwrap_or(38).clamp(1, 38) as u32, 0),
    };
    let text_for_err = |x: &Val| match x {
        Val::Str(s) | Val::Json(s) => s.to_string(),
        Val::F64(f) => fmt_float(*f),
        Val::Int(i) => i.to_string(),
        Val::Dec(x, _, s) => fmt_decimal(*x, *s),
        other => format!("{other:?}"),
    };
    let unscaled: i128 = match v[0] {
        Val::Int(i) => rescale(i as i128, 0, scale).ok_or_else(|| numeric_out_of_range(&i.to_string()))?,
        Val::Dec(x, _, s) => rescale(x, s as i32, scale)
            .ok_or_else(|| numeric_out_of_range(&fmt_decimal(x, s)))?,
        Val::Bool(b) => rescale(b as i128, 0, scale).unwrap_or(0),
        Val::F64(f) => {
            let x = (f * 10f64.powi(scale)).round();
            if !x.is_finite() || x.abs() >= 1e38 {
                return Err(numeric_out_of_range(&fmt_float(f)));
            }
            x as i128
        }
        Val::Str(s) => parse_number_text(s, fmt.and_then(|i| v[i].as_str()), scale)?,
        Val::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Null) => return Ok(Out::Null),
            Ok(serde_json::Value::String(t)) => parse_number_text(&t, None, scale)?,
            Ok(serde_json::Value::Number(n)) => parse_number_text(&n.to_string(), None, scale)?,
            Ok(serde_json::Value::Bool(b)) => rescale(b as i128, 0, scale).unwrap_or(0),
            _ => return Err(numeric_not_recognized(s)),
        },
        ref other => return Err(numeric_not_recognized(&text_for_err(other))),
    };
    if unscaled.unsigned_abs() >= 10u128.pow(prec) {
        return Err(numeric_out_of_range(&text_for_err(&v[0])));
    }
    Ok(match ctx.ret {
        DataType::Int64 => Out::Int(
            i64::try_from(unscaled).map_err(|_| numeric_out_of_range(&text_for_err(&v[0])))?,
        ),
        _ => Out::Dec(unscaled),
    })
}

fn parse_number_text(s: &str, fmt: Option<&str>, scale: i32) -> Result<i128> {
    let cleaned;
    let text = match fmt {
        Some(f) if f.contains([',', '$', 'G', 'g']) || f.to_ascii_uppercase().starts_with("FM") => {
            cleaned = s.replace([',', '$', ' '], "");
            cleaned.as_str()
        }
        _ => s,
    };
    let (x, s0) = parse_decimal(text).ok_or_else(|| numeric_not_recognized(s))?;
    rescale(x, s0, scale).ok_or_else(|| numeric_out_of_range(s))
}

fn try_to_number_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(to_number_row(ctx, v))
}

pub(crate) fn parse_double_text(s: &str) -> Result<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => return Ok(f64::INFINITY),
        "-inf" | "-infinity" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return Err(numeric_not_recognized(s));
    }
    t.parse::<f64>().map_err(|_| numeric_not_recognized(s))
}

fn to_double_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match v[0] {
        Val::Str(s) => Out::F64(parse_double_text(s)?),
        Val::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Null) => Out::Null,
            Ok(serde_json::Value::String(t)) => Out::F64(parse_double_text(&t)?),
            Ok(serde_json::Value::Number(n)) => Out::F64(n.as_f64().unwrap_or(f64::NAN)),
            Ok(serde_json::Value::Bool(b)) => Out::F64(b as i64 as f64),
            _ => return Err(numeric_not_recognized(s)),
        },
        ref other => match other.as_f64() {
            Some(f) => Out::F64(f),
            None => return Err(numeric_not_recognized(&format!("{other:?}"))),
        },
    })
}

fn try_to_double_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(to_double_row(ctx, v))
}

pub(crate) fn parse_bool_text(s: &str) -> Result<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Ok(false),
        _ => Err(boolean_not_recognized(s)),
    }
}

fn to_boolean_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    Ok(match v[0] {
        Val::Bool(b) => Out::Bool(b),
        Val::Str(s) => Out::Bool(parse_bool_text(s)?),
        Val::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Null) => Out::Null,
            Ok(serde_json::Value::Bool(b)) => Out::Bool(b),
            Ok(serde_json::Value::String(t)) => Out::Bool(parse_bool_text(&t)?),
            Ok(serde_json::Value::Number(n)) => Out::Bool(n.as_f64().unwrap_or(0.0) != 0.0),
            _ => return Err(boolean_not_recognized(s)),
        },
        ref other => match other.as_f64() {
            Some(f) if !f.is_nan() => Out::Bool(f != 0.0),
            _ => return Err(boolean_not_recognized(&format!("{other:?}"))),
        },
    })
}

fn try_to_boolean_row(ctx: &Ctx, v: &[Val]) -> Result<Out> {
    try_out(to_boolean_row(ctx, v))
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("to_number", 1, 4, ret_number, to_number_row)
            .alias("to_decimal")
            .alias("to_numeric")
            .udf(),
        Func::new("try_to_number", 1, 4, ret_number, try_to_number_row)
            .alias("try_to_decimal")
            .alias("try_to_numeric")
            .udf(),
        Func::new("to_double", 1, 2, ret_f64, to_double_row).udf(),
        Func::new("try_to_double", 1, 2, ret_f64, try_to_double_row).udf(),
        Func::new("to_boolean", 1, 1, ret_bool, to_boolean_row).udf(),
        Func::new("try_to_boolean", 1, 1, ret_bool, try_to_boolean_row).udf(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("12.345"), Some((12345, 3)));
        assert_eq!(parse_decimal("-1e3"), Some((-1000, 0)));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("."), None);
        assert_eq!(rescale(12345, 3, 2), Some(1235));
        assert_eq!(rescale(-12345, 3, 2), Some(-1235));
        assert_eq!(fmt_decimal(-5, 2), "-0.05");
        assert_eq!(fmt_float(1.5), "1.5");
        assert_eq!(fmt_float(2.0), "2");
        assert_eq!(fmt_float(0.1 + 0.2), "0.3");
        assert_eq!(fmt_float(1e20), "1e+20");
        assert_eq!(fmt_number_model(1234.567, None, "9,999.99"), " 1,234.57");
        assert_eq!(fmt_number_model(5.0, None, "000"), " 005");
        assert_eq!(fmt_number_model(-12.5, None, "FM999.00"), "-12.50");
    }
}
