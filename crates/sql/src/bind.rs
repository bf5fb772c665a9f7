//! Server-side bindings (qmark `?` and numeric `:n` placeholders), as the connector protocol and SQL API
//! v2 send them: `{"1": {"type": "FIXED", "value": "1"}}`, with a list of values per key for array
//! binding (`executemany`). Placeholders are replaced by typed literals in the parsed statement, so a
//! bound statement plans exactly like the same statement written with literals.

use std::collections::HashMap;
use std::ops::ControlFlow;

use chrono::{DateTime, NaiveTime};
use datafusion::sql::sqlparser::ast::{self, Expr, Statement, Value};
use datafusion::sql::sqlparser::dialect::SnowflakeDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use model::SfError;

/// One bound parameter: its Snowflake binding type and one value (or one per row for array binding).
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// FIXED, REAL, TEXT, BOOLEAN, DATE, TIME, TIMESTAMP_NTZ/LTZ/TZ, BINARY, ANY, …
    pub sf_type: String,
    /// The value(s) as wire text; `None` is SQL NULL.
    pub values: Vec<Option<String>>,
    /// True when the client sent a list (array binding).
    pub array: bool,
}

/// The bindings of one request, by key: "1", "2", … or a name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bindings {
    /// Bindings by key.
    pub by_key: HashMap<String, Binding>,
}

impl Bindings {
    /// True when nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The number of rows of an array binding (`None` when no key is an array).
    pub fn array_rows(&self) -> Option<usize> {
        self.by_key.values().filter(|b| b.array).map(|b| b.values.len()).max()
    }

    fn value(&self, key: &str, row: usize) -> Result<(&str, Option<&str>), SfError> {
        let binding = self
            .by_key
            .get(key)
            .or_else(|| self.by_key.get(&key.to_ascii_uppercase()))
            .ok_or_else(|| SfError::new("002049", "42601", model::ErrorKind::InvalidArgument, format!("SQL compilation error: Bind variable {key} not set.")))?;
        let index = if binding.array { row } else { 0 };
        Ok((binding.sf_type.as_str(), binding.values.get(index).and_then(|v| v.as_deref())))
    }
}

/// A bind variable: `?`, `:n` or `:name`. `$n` is not one: it names the n-th column of the FROM source
/// (Snowpark's `SELECT $1 AS "A" FROM VALUES …`), which `rewrite` handles.
fn is_bind_placeholder(value: &Value) -> bool {
    matches!(value, Value::Placeholder(p) if !p.starts_with('$'))
}

/// Number of placeholders in a statement (`numberOfBinds`).
pub fn count_placeholders(statement: &Statement) -> usize {
    let mut n = 0;
    let _ = ast::visit_expressions(statement, |e| {
        if matches!(e, Expr::Value(v) if is_bind_placeholder(&v.value)) {
            n += 1;
        }
        ControlFlow::<()>::Continue(())
    });
    n
}

/// Replaces every placeholder with NULL (to describe a statement without values).
pub fn nullify(statement: &mut Statement) {
    let _ = ast::visit_expressions_mut(statement, |e| {
        if matches!(e, Expr::Value(v) if is_bind_placeholder(&v.value)) {
            *e = Expr::value(Value::Null);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Replaces the placeholders of `statement` with the values of row `row`.
pub fn substitute(statement: &mut Statement, bindings: &Bindings, row: usize) -> Result<(), SfError> {
    bind_placeholders(statement, bindings, row, &mut 0)
}

/// Replaces every placeholder below `node` with row `row`'s literal; `?` takes the next positional key
/// after `next_positional`.
fn bind_placeholders<V: ast::VisitMut>(node: &mut V, bindings: &Bindings, row: usize, next_positional: &mut usize) -> Result<(), SfError> {
    let mut failure = None;
    let _ = ast::visit_expressions_mut(node, |e| {
        if let Expr::Value(v) = e {
            if let (true, Value::Placeholder(p)) = (is_bind_placeholder(&v.value), &v.value) {
                let key = placeholder_key(p, next_positional);
                match bindings.value(&key, row).and_then(|(ty, value)| literal(ty, value)) {
                    Ok(lit) => *e = lit,
                    Err(err) => {
                        failure = Some(err);
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    failure.map_or(Ok(()), Err)
}

/// True when the statement names an object by a bound value, `IDENTIFIER(?)`: its tokens must be bound
/// (`substitute_tokens`) before it can be parsed.
pub fn binds_identifier(tokens: &[TokenWithSpan]) -> bool {
    let significant: Vec<&Token> = tokens.iter().map(|t| &t.token).filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    significant.windows(3).any(|w| {
        matches!(w[0], Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("IDENTIFIER"))
            && *w[1] == Token::LParen
            && matches!(w[2], Token::Placeholder(p) if !p.starts_with('$'))
    })
}

/// Binds at the token level: every placeholder becomes the tokens of its literal (as `substitute` makes
/// it). For statements that are not plain SQL (floe's own grammar: `COPY INTO … ON_ERROR = ?`,
/// `CREATE STAGE IDENTIFIER(?)`) and for `IDENTIFIER(?)`, whose literal `parse` then reads as a name.
pub fn substitute_tokens(tokens: &mut Vec<TokenWithSpan>, bindings: &Bindings, row: usize) -> Result<(), SfError> {
    let mut next_positional = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let Token::Placeholder(p) = &tokens[i].token else {
            i += 1;
            continue;
        };
        if p.starts_with('$') {
            i += 1;
            continue;
        }
        let key = placeholder_key(p, &mut next_positional);
        let (ty, value) = bindings.value(&key, row)?;
        let span = tokens[i].span;
        let replacement: Vec<TokenWithSpan> = match literal(ty, value)? {
            // A string as one token: printing and re-reading it would lose its backslashes.
            Expr::Value(v) if matches!(&v.value, Value::SingleQuotedString(_)) => {
                let Value::SingleQuotedString(text) = v.value else { unreachable!() };
                vec![TokenWithSpan::new(Token::SingleQuotedString(text), span)]
            }
            other => {
                let text = other.to_string();
                Tokenizer::new(&SnowflakeDialect {}, &text)
                    .tokenize()
                    .map_err(|e| SfError::internal(format!("bind literal {text}: {e}")))?
                    .into_iter()
                    .map(|t| TokenWithSpan::new(t, span))
                    .collect()
            }
        };
        let n = replacement.len();
        tokens.splice(i..=i, replacement);
        i += n.max(1);
    }
    Ok(())
}

/// Binds a PUT/GET, which is read from its text (`PUT 'file:///x' ? …`, as the connector's
/// `_upload` sends it with the stage location bound): each `?` outside quotes becomes its value, a
/// stage location (`@…`) as written and anything else as a quoted string.
pub fn substitute_transfer(text: &str, bindings: &Bindings) -> Result<String, SfError> {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut next_positional = 0usize;
    for ch in text.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => {
                let key = placeholder_key("?", &mut next_positional);
                match bindings.value(&key, 0)?.1 {
                    Some(v) if v.starts_with('@') => out.push_str(v),
                    Some(v) => out.push_str(&quoted_literal(v)),
                    None => out.push_str("NULL"),
                }
            }
            _ => out.push(ch),
        }
    }
    Ok(out)
}

fn quoted_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Array binding of a single-row `INSERT … VALUES (?, …)`: expands the row once per bound row, so the
/// whole batch is one statement. Returns false when the statement has another shape.
pub fn expand_insert(statement: &mut Statement, bindings: &Bindings, rows: usize) -> Result<bool, SfError> {
    let Statement::Insert(insert) = statement else { return Ok(false) };
    let Some(source) = insert.source.as_mut() else { return Ok(false) };
    let ast::SetExpr::Values(values) = source.body.as_mut() else { return Ok(false) };
    if values.rows.len() != 1 {
        return Ok(false);
    }
    let template = values.rows[0].clone();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let mut exprs = template.clone();
        let mut next_positional = 0usize;
        for e in exprs.iter_mut() {
            bind_placeholders(e, bindings, row, &mut next_positional)?;
        }
        out.push(exprs);
    }
    values.rows = out;
    Ok(true)
}

fn placeholder_key(p: &str, next_positional: &mut usize) -> String {
    if p == "?" {
        *next_positional += 1;
        next_positional.to_string()
    } else {
        p.trim_start_matches([':', '$', '?']).to_string()
    }
}

fn bad_value(ty: &str, v: &str) -> SfError {
    SfError::new("002099", "22000", model::ErrorKind::InvalidArgument, format!("Bind variable value '{v}' is not a valid {ty}."))
}

fn parse_expr(text: &str) -> Result<Expr, SfError> {
    Parser::new(&SnowflakeDialect {}).try_with_sql(text).and_then(|mut p| p.parse_expr()).map_err(|e| SfError::internal(format!("bind literal {text}: {e}")))
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// The literal expression for a bound value of binding type `ty`.
fn literal(ty: &str, value: Option<&str>) -> Result<Expr, SfError> {
    let Some(v) = value else { return Ok(Expr::value(Value::Null)) };
    let ty = ty.to_ascii_uppercase();
    Ok(match ty.as_str() {
        "FIXED" => {
            let t = v.trim();
            let numeric = !t.is_empty() && t.trim_start_matches(['-', '+']).chars().all(|c| c.is_ascii_digit() || c == '.') && t.chars().filter(|c| *c == '.').count() <= 1;
            if !numeric {
                return Err(bad_value("FIXED", v));
            }
            Expr::value(Value::Number(t.trim_start_matches('+').to_string(), false))
        }
        "REAL" => {
            v.trim().parse::<f64>().map_err(|_| bad_value("REAL", v))?;
            parse_expr(&format!("{}::FLOAT", quoted(v.trim())))?
        }
        "BOOLEAN" => Expr::value(Value::Boolean(matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "t" | "yes" | "y" | "on"))),
        "DATE" => {
            let ms: i64 = v.trim().parse().map_err(|_| bad_value("DATE", v))?;
            let d = DateTime::from_timestamp_millis(ms).ok_or_else(|| bad_value("DATE", v))?.date_naive();
            parse_expr(&format!("'{}'::DATE", d.format("%Y-%m-%d")))?
        }
        "TIME" => {
            let ns: i64 = v.trim().parse().map_err(|_| bad_value("TIME", v))?;
            let t = NaiveTime::from_num_seconds_from_midnight_opt((ns.div_euclid(1_000_000_000)) as u32, ns.rem_euclid(1_000_000_000) as u32).ok_or_else(|| bad_value("TIME", v))?;
            parse_expr(&format!("'{}'::TIME", t.format("%H:%M:%S%.9f")))?
        }
        "TIMESTAMP_NTZ" | "TIMESTAMP_LTZ" | "TIMESTAMP" => {
            let ns: i64 = v.trim().parse().map_err(|_| bad_value(&ty, v))?;
            let ts = DateTime::from_timestamp_nanos(ns).naive_utc();
            let target = if ty == "TIMESTAMP_LTZ" { "TIMESTAMP_LTZ" } else { "TIMESTAMP_NTZ" };
            parse_expr(&format!("'{}'::{target}", ts.format("%Y-%m-%d %H:%M:%S%.9f")))?
        }
        "TIMESTAMP_TZ" => {
            let mut parts = v.split_whitespace();
            let ns: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(|| bad_value(&ty, v))?;
            let offset: i64 = parts.next().and_then(|p| p.parse::<i64>().ok()).map(|m| m - 1440).unwrap_or(0);
            let local = DateTime::from_timestamp_nanos(ns + offset * 60_000_000_000).naive_utc();
            let sign = if offset < 0 { '-' } else { '+' };
            let off = offset.abs();
            parse_expr(&format!("'{} {sign}{:02}:{:02}'::TIMESTAMP_TZ", local.format("%Y-%m-%d %H:%M:%S%.9f"), off / 60, off % 60))?
        }
        "BINARY" => {
            if v.len() % 2 != 0 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad_value("BINARY", v));
            }
            Expr::value(Value::HexStringLiteral(v.to_string()))
        }
        _ => Expr::value(Value::SingleQuotedString(v.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(items: &[(&str, &str, Vec<Option<&str>>, bool)]) -> Bindings {
        Bindings {
            by_key: items
                .iter()
                .map(|(k, t, v, a)| (k.to_string(), Binding { sf_type: t.to_string(), values: v.iter().map(|x| x.map(str::to_string)).collect(), array: *a }))
                .collect(),
        }
    }

    fn parse(sql: &str) -> Statement {
        match crate::parse::parse_one(sql).unwrap() {
            crate::parse::Stmt::Sql(s) => *s,
            _ => panic!(),
        }
    }

    #[test]
    fn dollar_columns_are_not_placeholders() {
        let mut s = parse("SELECT $1 AS A, $2 FROM VALUES (1, ?)");
        assert_eq!(count_placeholders(&s), 1);
        substitute(&mut s, &bindings(&[("1", "TEXT", vec![Some("x")], false)]), 0).unwrap();
        assert_eq!(s.to_string(), "SELECT $1 AS A, $2 FROM (VALUES (1, 'x'))");
        nullify(&mut s);
        assert!(s.to_string().starts_with("SELECT $1 AS A, $2"));
    }

    #[test]
    fn qmark_and_numeric_placeholders_become_typed_literals() {
        let mut s = parse("SELECT * FROM T WHERE A = ? AND B = ? AND C = ? AND D IS NULL OR E = ?");
        assert_eq!(count_placeholders(&s), 4);
        let b = bindings(&[
            ("1", "FIXED", vec![Some("-12")], false),
            ("2", "TEXT", vec![Some("it's")], false),
            ("3", "DATE", vec![Some("86400000")], false),
            ("4", "ANY", vec![None], false),
        ]);
        substitute(&mut s, &b, 0).unwrap();
        assert_eq!(s.to_string(), "SELECT * FROM T WHERE A = -12 AND B = 'it''s' AND C = '1970-01-02'::DATE AND D IS NULL OR E = NULL");
        let mut s = parse("SELECT :2, :1");
        substitute(&mut s, &bindings(&[("1", "BOOLEAN", vec![Some("true")], false), ("2", "TIMESTAMP_NTZ", vec![Some("1500000000")], false)]), 0).unwrap();
        assert_eq!(s.to_string(), "SELECT '1970-01-01 00:00:01.500000000'::TIMESTAMP_NTZ, true");
    }

    #[test]
    fn put_binds_its_stage_location_from_text() {
        let b = bindings(&[("1", "TEXT", vec![Some("@\"DB\".\"S\".\"ST\"")], false)]);
        let text = substitute_transfer("PUT 'file:///tmp/a?b.txt' ? parallel=4", &b).unwrap();
        assert_eq!(text, "PUT 'file:///tmp/a?b.txt' @\"DB\".\"S\".\"ST\" parallel=4");
        assert!(substitute_transfer("PUT 'file:///x' ?", &Bindings::default()).is_err());
    }

    #[test]
    fn identifier_and_floe_statements_bind_as_tokens() {
        let mut statements = crate::parse::split("COPY INTO IDENTIFIER(?) (\"A\") FROM (SELECT $1:\"A\" FROM '@S') PURGE = TRUE ON_ERROR = ?").unwrap();
        let statement = &mut statements[0];
        assert!(binds_identifier(&statement.tokens));
        let b = bindings(&[("1", "TEXT", vec![Some("\"DB\".\"SCH\".\"T\\x\"")], false), ("2", "TEXT", vec![Some("abort_statement")], false)]);
        substitute_tokens(&mut statement.tokens, &b, 0).unwrap();
        crate::parse::expand_identifier_calls(&mut statement.tokens).unwrap();
        let text: String = statement.tokens.iter().map(|t| t.token.to_string()).collect();
        assert_eq!(text, "COPY INTO \"DB\".\"SCH\".\"T\\x\" (\"A\") FROM (SELECT $1:\"A\" FROM '@S') PURGE = TRUE ON_ERROR = 'abort_statement'");
        let plain = crate::parse::split("SELECT IDENTIFIER('T'), ?").unwrap();
        assert!(!binds_identifier(&plain[0].tokens));
        let mut missing = crate::parse::split("DROP TABLE IDENTIFIER(?)").unwrap();
        assert!(substitute_tokens(&mut missing[0].tokens, &Bindings::default(), 0).unwrap_err().message.contains("Bind variable 1 not set"));
    }

    #[test]
    fn array_binding_expands_single_row_inserts() {
        let mut s = parse("INSERT INTO T VALUES (?, ?)");
        let b = bindings(&[("1", "FIXED", vec![Some("1"), Some("2")], true), ("2", "TEXT", vec![Some("a"), None], true)]);
        assert!(expand_insert(&mut s, &b, 2).unwrap());
        assert_eq!(s.to_string(), "INSERT INTO T VALUES (1, 'a'), (2, NULL)");
    }

    #[test]
    fn bad_values_and_missing_bindings_are_errors() {
        let mut s = parse("SELECT ?");
        let err = substitute(&mut s, &bindings(&[("1", "FIXED", vec![Some("abc")], false)]), 0).unwrap_err();
        assert!(err.message.contains("'abc'"), "{err}");
        let mut s = parse("SELECT ?, ?");
        let err = substitute(&mut s, &bindings(&[("1", "FIXED", vec![Some("1")], false)]), 0).unwrap_err();
        assert!(err.message.contains("Bind variable 2 not set"), "{err}");
    }
}
