//! Regular-expression functions with Snowflake semantics: REGEXP_LIKE / RLIKE
//! (anchored: the whole subject must match), REGEXP_SUBSTR, REGEXP_SUBSTR_ALL,
//! REGEXP_INSTR, REGEXP_COUNT and REGEXP_REPLACE (all occurrences by default,
//! `\1` back-references). Positions are 1-based characters; parameters are
//! Snowflake's `c`, `i`, `m`, `s`, `e` letters. Compiled patterns are cached
//! per thread.

use crate::error::{invalid_argument, sf_error};
use crate::rows::{Ctx, Func, Out, Val, ret_bool, ret_i64, ret_utf8, ret_variant};
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use regex::{Regex, RegexBuilder};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Clone, Copy, Default)]
struct Params {
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
    extract: bool,
}

fn parse_params(p: Option<&str>) -> Params {
    let mut out = Params::default();
    for c in p.unwrap_or("c").chars() {
        match c {
            'c' => out.case_insensitive = false,
            'i' => out.case_insensitive = true,
            'm' => out.multi_line = true,
            's' => out.dot_all = true,
            'e' => out.extract = true,
            _ => {}
        }
    }
    out
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, u8, bool), Regex>> = RefCell::new(HashMap::new());
}

fn compile(pattern: &str, p: Params, anchored: bool) -> Result<Regex> {
    let flags = p.case_insensitive as u8 | (p.multi_line as u8) << 1 | (p.dot_all as u8) << 2;
    let key = (pattern.to_string(), flags, anchored);
    if let Some(r) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(r);
    }
    let source = if anchored { format!(r"\A(?:{pattern})\z") } else { pattern.to_string() };
    let re = RegexBuilder::new(&source)
        .case_insensitive(p.case_insensitive)
        .multi_line(p.multi_line)
        .dot_matches_new_line(p.dot_all)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            sf_error("100048", "2201B", format!("Invalid regular expression: '{pattern}', {last}"))
        })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 256 {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}

fn opt_str<'a>(v: &[Val<'a>], i: usize) -> Option<&'a str> {
    v.get(i).and_then(|x| x.as_str())
}

fn opt_int(v: &[Val], i: usize, default: i64) -> Result<i64> {
    match v.get(i) {
        None | Some(Val::Null) => Ok(default),
        Some(x) => x.as_i64().ok_or_else(|| invalid_argument(format!("Invalid integer argument {x:?}"))),
    }
}

/// Byte offset of 1-based character position `pos` (None when past the end).
fn byte_offset(s: &str, pos: i64) -> Result<Option<usize>> {
    if pos < 1 {
        return Err(invalid_argument(format!("Invalid value [{pos}] for position argument")));
    }
    let n = (pos - 1) as usize;
    Ok(if n == 0 {
        Some(0)
    } else {
        s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).nth(n)
    })
}

fn char_pos(s: &str, byte: usize) -> i64 {
    s[..byte].chars().count() as i64
}

fn subject<'a>(v: &[Val<'a>]) -> Result<&'a str> {
    match v[0] {
        Val::Str(s) | Val::Json(s) => Ok(s),
        ref other => Err(invalid_argument(format!("Regular expression subject must be a string, got {other:?}"))),
    }
}

fn pattern<'a>(v: &[Val<'a>]) -> Result<&'a str> {
    v[1].as_str().ok_or_else(|| invalid_argument("Regular expression pattern must be a string"))
}

fn regexp_like_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let re = compile(pattern(v)?, parse_params(opt_str(v, 2)), true)?;
    Ok(Out::Bool(re.is_match(subject(v)?)))
}

fn regexp_count_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = subject(v)?;
    let re = compile(pattern(v)?, parse_params(opt_str(v, 3)), false)?;
    let Some(start) = byte_offset(s, opt_int(v, 2, 1)?)? else { return Ok(Out::Int(0)) };
    Ok(Out::Int(re.find_iter(&s[start..]).count() as i64))
}

/// The `occurrence`-th match (1-based) at or after `position`, with captures.
fn nth_match<'s>(
    re: &Regex,
    s: &'s str,
    position: i64,
    occurrence: i64,
) -> Result<Option<regex::Captures<'s>>> {
    if occurrence < 1 {
        return Err(invalid_argument(format!("Invalid value [{occurrence}] for occurrence argument")));
    }
    let Some(start) = byte_offset(s, position)? else { return Ok(None) };
    let mut it = re.captures_iter(&s[start..]);
    Ok(it.nth((occurrence - 1) as usize))
}

fn group_of(v: &[Val], i: usize, params: Params) -> Result<usize> {
    let g = opt_int(v, i, if params.extract { 1 } else { 0 })?;
    usize::try_from(g).map_err(|_| invalid_argument(format!("Invalid group index {g}")))
}

fn regexp_substr_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = subject(v)?;
    let params = parse_params(opt_str(v, 4));
    let re = compile(pattern(v)?, params, false)?;
    let group = group_of(v, 5, params)?;
    let m = nth_match(&re, s, opt_int(v, 2, 1)?, opt_int(v, 3, 1)?)?;
    Ok(match m.and_then(|c| c.get(group)) {
        Some(g) => Out::Str(g.as_str().to_string()),
        None => Out::Null,
    })
}

fn regexp_substr_all_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = subject(v)?;
    let params = parse_params(opt_str(v, 4));
    let re = compile(pattern(v)?, params, false)?;
    let group = group_of(v, 5, params)?;
    let occurrence = opt_int(v, 3, 1)?.max(1) as usize;
    let Some(start) = byte_offset(s, opt_int(v, 2, 1)?)? else {
        return Ok(Out::Str("[]".into()));
    };
    let items: Vec<serde_json::Value> = re
        .captures_iter(&s[start..])
        .skip(occurrence - 1)
        .filter_map(|c| c.get(group).map(|g| serde_json::Value::String(g.as_str().to_string())))
        .collect();
    Ok(Out::Str(serde_json::Value::Array(items).to_string()))
}

fn regexp_instr_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = subject(v)?;
    let params = parse_params(opt_str(v, 5));
    let re = compile(pattern(v)?, params, false)?;
    let group = group_of(v, 6, params)?;
    let position = opt_int(v, 2, 1)?;
    let option = opt_int(v, 4, 0)?;
    let start = byte_offset(s, position)?.unwrap_or(s.len());
    let m = nth_match(&re, s, position, opt_int(v, 3, 1)?)?;
    Ok(Out::Int(match m.and_then(|c| c.get(group)) {
        Some(g) => {
            let byte = start + if option == 0 { g.start() } else { g.end() };
            char_pos(s, byte) + 1
        }
        None => 0,
    }))
}

/// Converts Snowflake replacement text (`\1` back-references) to the regex crate's syntax.
fn convert_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek() {
                Some(d) if d.is_ascii_digit() => {
                    let d = *d;
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn regexp_replace_row(_: &Ctx, v: &[Val]) -> Result<Out> {
    let s = subject(v)?;
    let re = compile(pattern(v)?, parse_params(opt_str(v, 5)), false)?;
    let repl = convert_replacement(match v.get(2) {
        None => "",
        Some(Val::Str(r)) => r,
        Some(_) => return Err(invalid_argument("Replacement must be a string")),
    });
    let Some(start) = byte_offset(s, opt_int(v, 3, 1)?)? else { return Ok(Out::Str(s.to_string())) };
    let occurrence = opt_int(v, 4, 0)?;
    let (head, tail) = s.split_at(start);
    let replaced = if occurrence <= 0 {
        re.replace_all(tail, repl.as_str()).into_owned()
    } else {
        match re.captures_iter(tail).nth((occurrence - 1) as usize) {
            Some(c) => {
                let m = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
                let mut expanded = String::new();
                c.expand(&repl, &mut expanded);
                format!("{}{expanded}{}", &tail[..m.0], &tail[m.1..])
            }
            None => tail.to_string(),
        }
    };
    Ok(Out::Str(format!("{head}{replaced}")))
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        Func::new("regexp_like", 2, 3, ret_bool, regexp_like_row).alias("rlike").udf(),
        Func::new("regexp_count", 2, 4, ret_i64, regexp_count_row).udf(),
        Func::new("regexp_substr", 2, 6, ret_utf8, regexp_substr_row).udf(),
        Func::new("regexp_substr_all", 2, 6, ret_variant, regexp_substr_all_row)
            .alias("regexp_extract_all")
            .udf(),
        Func::new("regexp_instr", 2, 7, ret_i64, regexp_instr_row).udf(),
        Func::new("regexp_replace", 2, 6, ret_utf8, regexp_replace_row).udf(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_syntax() {
        assert_eq!(convert_replacement(r"\2-\1 $x"), "${2}-${1} $$x");
    }
}
