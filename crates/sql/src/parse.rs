//! Statement parsing: sqlparser's tokenizer (Snowflake dialect), Snowflake identifier case rules, and
//! floe's own grammar for the statements sqlparser does not cover; everything else goes to sqlparser.
//!
//! Case rule: every unquoted word is upper-cased at token level, so `foo` and `"FOO"` name the same
//! object, quoted names keep their case, and DataFusion runs with identifier normalisation off.
//! Keywords are case-insensitive and function names are lower-cased by DataFusion, so neither cares.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::SnowflakeDialect;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};
use model::SfError;

/// A parsed statement.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// Anything sqlparser understands, planned by DataFusion or floe's DDL/DML code.
    Sql(Box<ast::Statement>),
    /// `USE [DATABASE|SCHEMA|ROLE|WAREHOUSE] name`.
    Use { kind: UseKind, name: Vec<String> },
    /// `ALTER SESSION SET k = v, …`.
    AlterSessionSet(Vec<(String, ParamValue)>),
    /// `ALTER SESSION UNSET k, …`.
    AlterSessionUnset(Vec<String>),
    /// `ALTER ACCOUNT SET k = v, … | UNSET k, …` (account parameters, account.rs).
    AlterAccount { set: Vec<(String, ParamValue)>, unset: Vec<String> },
    /// `SHOW PARAMETERS [LIKE 'p'] [IN SESSION|ACCOUNT]`.
    ShowParameters { like: Option<String>, level: Option<String>, object: Vec<String> },
    /// `SHOW [TERSE] DATABASES|SCHEMAS|TABLES|VIEWS|COLUMNS [LIKE 'p'] [IN [kind] name]`.
    Show { what: String, like: Option<String>, scope: Option<(String, Vec<String>)> },
    /// `DESCRIBE|DESC [TABLE|VIEW] name`.
    Describe { name: Vec<String> },
    /// `BEGIN [TRANSACTION|WORK]`, `START TRANSACTION`.
    Begin,
    /// `COMMIT [WORK]`.
    Commit,
    /// `ROLLBACK [WORK]`.
    Rollback,
    /// Warehouses, compute pools, image repositories, stages, LIST/REMOVE (`crate::objects`).
    Object(Box<crate::objects::ObjectStmt>),
    /// Users, roles, grants (`crate::access`).
    Access(Box<crate::access::AccessStmt>),
    /// Services, job services and their system functions.
    Spcs(Box<crate::spcs::SpcsStmt>),
    /// External functions, service functions and API integrations (`crate::extfn`).
    Functions(Box<crate::extfn::FnStmt>),
    /// `CREATE [OR REPLACE] [TEMPORARY] TABLE name USING TEMPLATE (query)`: `create` is the statement
    /// up to USING, `query` the template query (`ddl::create_using_template`).
    CreateUsingTemplate { create: String, query: String },
}

/// What `USE` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    /// USE name or USE DATABASE name.
    Database,
    /// USE SCHEMA name.
    Schema,
    /// USE ROLE name.
    Role,
    /// USE WAREHOUSE name.
    Warehouse,
    /// USE db.schema (without a keyword).
    Bare,
}

/// A literal parameter value in ALTER SESSION.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A quoted string.
    Text(String),
    /// A number.
    Number(String),
    /// TRUE/FALSE.
    Bool(bool),
}

impl ParamValue {
    /// The value as SHOW PARAMETERS prints it.
    pub fn display(&self) -> String {
        match self {
            ParamValue::Text(s) | ParamValue::Number(s) => s.clone(),
            ParamValue::Bool(b) => b.to_string(),
        }
    }
}

/// One statement's tokens (already case-normalised) and its source text.
#[derive(Debug, Clone)]
pub struct StatementText {
    /// Tokens without the trailing semicolon.
    pub tokens: Vec<TokenWithSpan>,
    /// The statement's original text.
    pub text: String,
}

/// Tokenises `sql`, upper-cases unquoted words and splits it on top-level semicolons.
pub fn split(sql: &str) -> Result<Vec<StatementText>, SfError> {
    // PUT/GET are one statement read from the text: an unquoted `file:///x` starts a `//` comment.
    if crate::objects::transfer::is_transfer(sql) {
        let text = sql.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_string();
        return Ok(vec![StatementText { tokens: Vec::new(), text }]);
    }
    let dialect = SnowflakeDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| {
        SfError::syntax(e.location.line, e.location.column.saturating_sub(1), &e.message)
    })?;
    let lines: Vec<&str> = sql.split('\n').collect();
    let offset = |line: u64, column: u64| -> usize {
        let mut pos = 0usize;
        for l in lines.iter().take(line.saturating_sub(1) as usize) {
            pos += l.len() + 1;
        }
        let line_text = lines.get(line.saturating_sub(1) as usize).copied().unwrap_or("");
        let col_bytes: usize = line_text.chars().take(column.saturating_sub(1) as usize).map(char::len_utf8).sum();
        (pos + col_bytes).min(sql.len())
    };
    let mut out = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    let flush = |current: &mut Vec<TokenWithSpan>, out: &mut Vec<StatementText>| {
        let meaningful = current.iter().any(|t| !matches!(t.token, Token::Whitespace(_)));
        if meaningful {
            let first = current.iter().find(|t| !matches!(t.token, Token::Whitespace(_))).unwrap();
            let last = current.iter().rev().find(|t| !matches!(t.token, Token::Whitespace(_))).unwrap();
            let start = offset(first.span.start.line, first.span.start.column);
            let end = offset(last.span.end.line, last.span.end.column);
            let text = sql.get(start..end.max(start)).unwrap_or("").to_string();
            out.push(StatementText { tokens: std::mem::take(current), text });
        } else {
            current.clear();
        }
    };
    // Words of a semi-structured path (`v:a.b[0].C`) keep their case: JSON keys are case-sensitive.
    let mut in_path = false;
    let mut previous: Option<Token> = None;
    for mut token in tokens {
        let is_ws = matches!(token.token, Token::Whitespace(_));
        if !is_ws {
            match &token.token {
                Token::Colon => {
                    in_path = matches!(previous, Some(Token::Word(_)) | Some(Token::RParen) | Some(Token::RBracket));
                }
                Token::Word(_) | Token::Period | Token::LBracket | Token::RBracket | Token::Number(..) | Token::SingleQuotedString(_) => {}
                _ => in_path = false,
            }
        } else {
            in_path = false;
        }
        if let Token::Word(Word { value, quote_style: None, .. }) = &mut token.token {
            if !in_path {
                *value = value.to_uppercase();
            }
        }
        if !is_ws {
            previous = Some(token.token.clone());
        }
        if token.token == Token::SemiColon {
            flush(&mut current, &mut out);
        } else {
            current.push(token);
        }
    }
    flush(&mut current, &mut out);
    for statement in &mut out {
        expand_identifier_calls(&mut statement.tokens)?;
        expand_service_table_methods(&mut statement.tokens);
    }
    Ok(out)
}

/// `IDENTIFIER('name')` (what `snow` sends for every object name, e.g. `drop compute pool
/// IDENTIFIER('P1')`) becomes the tokens of `name`, read with the usual case rule: unquoted parts are
/// upper-cased, `'"quoted"'` keeps its case, `'db.schema.name'` stays qualified. The new tokens carry
/// the span of the whole call, so errors point at it.
pub(crate) fn expand_identifier_calls(tokens: &mut Vec<TokenWithSpan>) -> Result<(), SfError> {
    let significant = |tokens: &[TokenWithSpan], from: usize| tokens.iter().enumerate().skip(from).find(|(_, t)| !matches!(t.token, Token::Whitespace(_))).map(|(i, _)| i);
    let mut i = 0;
    while i < tokens.len() {
        let is_call = matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none() && w.value == "IDENTIFIER");
        let parts = if is_call {
            significant(tokens, i + 1)
                .filter(|&open| tokens[open].token == Token::LParen)
                .and_then(|open| significant(tokens, open + 1))
                .and_then(|lit| match &tokens[lit].token {
                    Token::SingleQuotedString(name) => significant(tokens, lit + 1).filter(|&close| tokens[close].token == Token::RParen).map(|close| (name.clone(), close)),
                    _ => None,
                })
        } else {
            None
        };
        let Some((name, close)) = parts else {
            i += 1;
            continue;
        };
        let span = datafusion::sql::sqlparser::tokenizer::Span::new(tokens[i].span.start, tokens[close].span.end);
        let start = tokens[i].span.start;
        let inner = Tokenizer::new(&SnowflakeDialect {}, &name)
            .tokenize()
            .map_err(|_| SfError::syntax(start.line, start.column.saturating_sub(1), &format!("'{name}'")))?;
        let replacement: Vec<TokenWithSpan> = inner
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .map(|mut token| {
                if let Token::Word(Word { value, quote_style: None, .. }) = &mut token {
                    *value = value.to_uppercase();
                }
                TokenWithSpan::new(token, span)
            })
            .collect();
        let n = replacement.len();
        tokens.splice(i..=close, replacement);
        i += n.max(1);
    }
    Ok(())
}

/// The service methods that are table functions, `<svc>!SPCS_GET_LOGS(…)` and `<svc>!SPCS_GET_EVENTS(…)`,
/// become `FLOE_SPCS_GET_LOGS('<svc>', …)` (spcs/telemetry.rs): sqlparser has no `!` call syntax.
fn expand_service_table_methods(tokens: &mut Vec<TokenWithSpan>) {
    let significant = |tokens: &[TokenWithSpan], from: usize| tokens.iter().enumerate().skip(from).find(|(_, t)| !matches!(t.token, Token::Whitespace(_))).map(|(i, _)| i);
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].token != Token::ExclamationMark || i == 0 {
            i += 1;
            continue;
        }
        let method = significant(tokens, i + 1).and_then(|m| match &tokens[m].token {
            Token::Word(w) if w.quote_style.is_none() && (w.value == "SPCS_GET_LOGS" || w.value == "SPCS_GET_EVENTS") => Some((m, w.value.clone())),
            _ => None,
        });
        let Some((m, method)) = method else {
            i += 1;
            continue;
        };
        let Some(open) = significant(tokens, m + 1).filter(|&o| tokens[o].token == Token::LParen) else {
            i += 1;
            continue;
        };
        // The service name: Word (. Word)* right before the `!`.
        let mut start = i;
        let mut parts = Vec::new();
        while start > 0 {
            match &tokens[start - 1].token {
                Token::Word(w) if parts.len() % 2 == 0 => parts.push(match w.quote_style {
                    Some(_) => format!("\"{}\"", w.value),
                    None => w.value.clone(),
                }),
                Token::Period if parts.len() % 2 == 1 => parts.push(".".into()),
                _ => break,
            }
            start -= 1;
        }
        if parts.is_empty() || parts.len() % 2 == 0 {
            i += 1;
            continue;
        }
        parts.reverse();
        let span = tokens[start].span;
        let empty_args = significant(tokens, open + 1).is_some_and(|n| tokens[n].token == Token::RParen);
        let mut replacement = vec![
            TokenWithSpan::new(Token::Word(Word { value: format!("FLOE_{method}"), quote_style: None, keyword: datafusion::sql::sqlparser::keywords::Keyword::NoKeyword }), span),
            TokenWithSpan::new(Token::LParen, span),
            TokenWithSpan::new(Token::SingleQuotedString(parts.concat()), span),
        ];
        if !empty_args {
            replacement.push(TokenWithSpan::new(Token::Comma, span));
        }
        let n = replacement.len();
        tokens.splice(start..=open, replacement);
        i = start + n;
    }
}

/// Parses one statement's tokens.
pub fn parse(statement: &StatementText) -> Result<Stmt, SfError> {
    if crate::objects::transfer::is_transfer(&statement.text) {
        return Ok(Stmt::Object(Box::new(crate::objects::transfer::parse(&statement.text)?)));
    }
    if let Some(stmt) = using_template(&statement.tokens) {
        return Ok(stmt);
    }
    let mut cursor = Cursor::with_text(&statement.tokens, &statement.text);
    if let Some(stmt) = parse_floe(&mut cursor)? {
        return Ok(stmt);
    }
    let dialect = SnowflakeDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(statement.tokens.clone());
    let mut parsed = parser.parse_statements().map_err(parser_error)?;
    match parsed.len() {
        1 => Ok(Stmt::Sql(Box::new(parsed.remove(0)))),
        _ => Err(SfError::syntax(1, 0, &statement.text)),
    }
}

/// Parses SQL text expected to hold exactly one statement (for SQL that floe generates itself).
pub fn parse_one(sql: &str) -> Result<Stmt, SfError> {
    let mut statements = split(sql)?;
    if statements.len() != 1 {
        return Err(SfError::compilation(format!("expected one statement in '{sql}'")));
    }
    parse(&statements.remove(0))
}

/// Maps sqlparser's "Expected: …, found: X at Line: l, Column: c" to Snowflake's syntax error.
pub fn parser_error(err: ParserError) -> SfError {
    let text = err.to_string();
    let found = text.split("found: ").nth(1).map(|rest| rest.split(" at Line:").next().unwrap_or(rest).trim().to_string());
    let line = text.split("Line: ").nth(1).and_then(|r| r.split(',').next()).and_then(|s| s.trim().parse::<u64>().ok());
    let column = text.split("Column: ").nth(1).and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()).and_then(|s| s.parse::<u64>().ok());
    match (found, line, column) {
        (Some(found), Some(line), Some(column)) => {
            let found = if found == "EOF" { "<EOF>".to_string() } else { found };
            SfError::syntax(line, column.saturating_sub(1), &found)
        }
        _ => SfError::new("001003", "42000", model::ErrorKind::InvalidArgument, format!("SQL compilation error: {}", text.replace("sql parser error: ", ""))),
    }
}

/// A cursor over one statement's tokens, skipping whitespace; the base of floe's own grammar.
pub struct Cursor<'a> {
    tokens: Vec<&'a TokenWithSpan>,
    pos: usize,
    /// The statement's source text (starting at its first token), for grammar that needs the exact
    /// characters (stage paths keep their case).
    text: Option<&'a str>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first non-whitespace token.
    pub fn new(tokens: &'a [TokenWithSpan]) -> Self {
        Cursor { tokens: tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect(), pos: 0, text: None }
    }

    /// A cursor that also knows the statement's source text (which starts at the first token).
    pub fn with_text(tokens: &'a [TokenWithSpan], text: &'a str) -> Self {
        Cursor { text: Some(text), ..Cursor::new(tokens) }
    }

    /// The current position, to come back to with `reset`.
    pub fn mark(&self) -> usize {
        self.pos
    }

    /// Goes back to a position from `mark`.
    pub fn reset(&mut self, mark: usize) {
        self.pos = mark;
    }

    /// The token after the current one.
    pub fn peek_next(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos + 1).map(|t| &t.token)
    }

    /// Consumes the current token and every following token written without whitespace in between, and
    /// returns their exact source text (original case). None at the end or without source text.
    pub fn raw_run(&mut self) -> Option<String> {
        let first = *self.tokens.get(self.pos)?;
        let mut last = first;
        let mut next = self.pos + 1;
        while let Some(t) = self.tokens.get(next) {
            if t.span.start != last.span.end {
                break;
            }
            last = t;
            next += 1;
        }
        let start = self.offset_of(first.span.start)?;
        let end = self.offset_of(last.span.end)?;
        let raw = self.text?.get(start..end)?.to_string();
        self.pos = next;
        Some(raw)
    }

    /// The exact source text of the current token (original case), if the cursor knows the text.
    pub fn raw_token(&self) -> Option<String> {
        let t = self.tokens.get(self.pos)?;
        let start = self.offset_of(t.span.start)?;
        let end = self.offset_of(t.span.end)?;
        self.text?.get(start..end).map(str::to_string)
    }

    /// Byte offset in the source text of a tokenizer location.
    fn offset_of(&self, loc: datafusion::sql::sqlparser::tokenizer::Location) -> Option<usize> {
        let text = self.text?;
        let first = self.tokens.first()?.span.start;
        if loc.line < first.line {
            return None;
        }
        let mut line_start = 0usize;
        let mut column_base = first.column;
        for _ in first.line..loc.line {
            line_start += text.get(line_start..)?.find('\n')? + 1;
            column_base = 1;
        }
        let skip = loc.column.checked_sub(column_base)? as usize;
        let bytes: usize = text.get(line_start..)?.chars().take(skip).map(char::len_utf8).sum();
        Some(line_start + bytes)
    }

    /// The current token.
    pub fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos).map(|t| &t.token)
    }

    /// True at the end.
    pub fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The unquoted word at the current position, if any.
    pub fn peek_word(&self) -> Option<&'a str> {
        match self.peek() {
            Some(Token::Word(Word { value, quote_style: None, .. })) => Some(value.as_str()),
            _ => None,
        }
    }

    /// Consumes the given keyword sequence if it is next.
    pub fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words.iter().enumerate().all(|(i, w)| {
            matches!(self.tokens.get(self.pos + i).map(|t| &t.token), Some(Token::Word(Word { value, quote_style: None, .. })) if value == w)
        });
        if matches {
            self.pos += words.len();
        }
        matches
    }

    /// Consumes one of the given keywords, returning it.
    pub fn eat_one(&mut self, words: &[&'static str]) -> Option<&'static str> {
        words.iter().copied().find(|w| self.eat(&[w]))
    }

    /// Consumes a token equal to `token`.
    pub fn eat_token(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An error at the current token.
    pub fn error(&self) -> SfError {
        match self.tokens.get(self.pos) {
            Some(t) => SfError::syntax(t.span.start.line, t.span.start.column.saturating_sub(1), &t.token.to_string()),
            None => {
                let (line, col) = self.tokens.last().map(|t| (t.span.end.line, t.span.end.column.saturating_sub(1))).unwrap_or((1, 0));
                SfError::syntax(line, col, "<EOF>")
            }
        }
    }

    /// Expects the end of the statement.
    pub fn expect_end(&self) -> Result<(), SfError> {
        if self.at_end() { Ok(()) } else { Err(self.error()) }
    }

    /// One identifier part (unquoted words were already upper-cased).
    pub fn ident(&mut self) -> Result<String, SfError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Ok(w.value.clone())
            }
            _ => Err(self.error()),
        }
    }

    /// A dotted name of 1 to 3 parts.
    pub fn object_name(&mut self) -> Result<Vec<String>, SfError> {
        let mut parts = vec![self.ident()?];
        while self.eat_token(&Token::Period) {
            parts.push(self.ident()?);
        }
        if parts.len() > 3 {
            return Err(self.error());
        }
        Ok(parts)
    }

    /// A single-quoted (or $$) string literal.
    pub fn string(&mut self) -> Result<String, SfError> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            Some(Token::DollarQuotedString(s)) => {
                self.pos += 1;
                Ok(s.value.clone())
            }
            _ => Err(self.error()),
        }
    }

    /// `( item [, item …] )`, possibly empty: the items `item` reads, in order.
    pub fn paren_list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, SfError>) -> Result<Vec<T>, SfError> {
        if !self.eat_token(&Token::LParen) {
            return Err(self.error());
        }
        let mut out = Vec::new();
        while !self.eat_token(&Token::RParen) {
            if !out.is_empty() && !self.eat_token(&Token::Comma) {
                return Err(self.error());
            }
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// A parameter value: string, number, TRUE/FALSE or a bare word.
    pub fn param_value(&mut self) -> Result<ParamValue, SfError> {
        let negative = self.eat_token(&Token::Minus);
        let value = match self.peek() {
            Some(Token::SingleQuotedString(s)) => ParamValue::Text(s.clone()),
            Some(Token::Number(n, _)) => ParamValue::Number(if negative { format!("-{n}") } else { n.clone() }),
            Some(Token::Word(w)) if w.quote_style.is_none() && (w.value == "TRUE" || w.value == "FALSE") => {
                ParamValue::Bool(w.value == "TRUE")
            }
            Some(Token::Word(w)) => {
                // A dotted name (`EVENT_TABLE = db.schema.events`).
                let mut text = w.value.clone();
                while self.tokens.get(self.pos + 1).map(|t| &t.token) == Some(&Token::Period)
                    && let Some(Token::Word(next)) = self.tokens.get(self.pos + 2).map(|t| &t.token)
                {
                    text.push('.');
                    text.push_str(&next.value);
                    self.pos += 2;
                }
                ParamValue::Text(text)
            }
            _ => return Err(self.error()),
        };
        self.pos += 1;
        Ok(value)
    }
}

/// `CREATE … TABLE … USING TEMPLATE (query)`, split into the CREATE part and the query.
fn using_template(tokens: &[TokenWithSpan]) -> Option<Stmt> {
    let significant: Vec<(usize, &Token)> = tokens.iter().enumerate().map(|(i, t)| (i, &t.token)).filter(|(_, t)| !matches!(t, Token::Whitespace(_))).collect();
    let word = |t: &Token, w: &str| matches!(t, Token::Word(word) if word.quote_style.is_none() && word.value == w);
    if !significant.first().is_some_and(|(_, t)| word(t, "CREATE")) {
        return None;
    }
    let mut depth = 0usize;
    let mut seen_table = false;
    for (k, (i, t)) in significant.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth == 0 && word(t, "TABLE") => seen_table = true,
            _ if depth == 0 && seen_table && word(t, "USING") => {
                let (Some((_, next)), Some((open, paren))) = (significant.get(k + 1), significant.get(k + 2)) else { return None };
                if !word(next, "TEMPLATE") || **paren != Token::LParen {
                    return None;
                }
                let (close, _) = significant.iter().rev().find(|(_, t)| **t == Token::RParen)?;
                if close <= open || significant.last().map(|(i, _)| i) != Some(close) {
                    return None;
                }
                let text = |range: std::ops::Range<usize>| tokens[range].iter().map(|t| t.token.to_string()).collect::<String>();
                return Some(Stmt::CreateUsingTemplate { create: text(0..*i).trim().to_string(), query: text(open + 1..*close).trim().to_string() });
            }
            _ => {}
        }
    }
    None
}

fn parse_floe(c: &mut Cursor<'_>) -> Result<Option<Stmt>, SfError> {
    if let Some(stmt) = crate::extfn::grammar::parse(c)? {
        return Ok(Some(Stmt::Functions(Box::new(stmt))));
    }
    if let Some(stmt) = crate::spcs::grammar::parse(c)? {
        return Ok(Some(Stmt::Spcs(Box::new(stmt))));
    }
    if let Some(stmt) = crate::objects::grammar::parse(c)? {
        return Ok(Some(Stmt::Object(Box::new(stmt))));
    }
    if let Some(stmt) = crate::access::grammar::parse(c)? {
        return Ok(Some(Stmt::Access(Box::new(stmt))));
    }
    let Some(first) = c.peek_word() else { return Ok(None) };
    let stmt = match first {
        "USE" => {
            c.eat(&["USE"]);
            let kind = match c.eat_one(&["DATABASE", "SCHEMA", "ROLE", "WAREHOUSE"]) {
                Some("DATABASE") => UseKind::Database,
                Some("SCHEMA") => UseKind::Schema,
                Some("ROLE") => UseKind::Role,
                Some("WAREHOUSE") => UseKind::Warehouse,
                _ => UseKind::Bare,
            };
            let name = c.object_name()?;
            c.expect_end()?;
            Stmt::Use { kind, name }
        }
        "ALTER" if matches!(c.peek_next(), Some(Token::Word(w)) if w.quote_style.is_none() && (w.value == "SESSION" || w.value == "ACCOUNT")) => {
            let account = matches!(c.peek_next(), Some(Token::Word(w)) if w.value == "ACCOUNT");
            c.eat(&["ALTER"]);
            c.ident()?;
            let (set, unset) = if c.eat(&["SET"]) {
                let mut pairs = Vec::new();
                loop {
                    let key = c.ident()?.to_uppercase();
                    if !c.eat_token(&Token::Eq) {
                        return Err(c.error());
                    }
                    pairs.push((key, c.param_value()?));
                    if !c.eat_token(&Token::Comma) && c.at_end() {
                        break;
                    }
                    if c.at_end() {
                        break;
                    }
                }
                (pairs, Vec::new())
            } else if c.eat(&["UNSET"]) {
                let mut keys = vec![c.ident()?.to_uppercase()];
                while c.eat_token(&Token::Comma) {
                    keys.push(c.ident()?.to_uppercase());
                }
                c.expect_end()?;
                (Vec::new(), keys)
            } else {
                return Err(c.error());
            };
            match (account, unset.is_empty()) {
                (true, _) => Stmt::AlterAccount { set, unset },
                (false, true) => Stmt::AlterSessionSet(set),
                (false, false) => Stmt::AlterSessionUnset(unset),
            }
        }
        "SHOW" => {
            c.eat(&["SHOW"]);
            c.eat(&["TERSE"]);
            if c.eat(&["PARAMETERS"]) {
                let like = if c.eat(&["LIKE"]) { Some(c.string()?) } else { None };
                let level = if c.eat(&["IN"]) { Some(c.ident()?.to_uppercase()) } else { None };
                let object = if level.is_some() && !c.at_end() { c.object_name()? } else { Vec::new() };
                c.expect_end()?;
                Stmt::ShowParameters { like, level, object }
            } else if let Some(what) = c.eat_one(&["DATABASES", "SCHEMAS", "TABLES", "VIEWS", "COLUMNS", "OBJECTS"]) {
                let like = if c.eat(&["LIKE"]) { Some(c.string()?) } else { None };
                let scope = if c.eat(&["IN"]) {
                    if c.eat(&["ACCOUNT"]) {
                        Some(("ACCOUNT".to_string(), Vec::new()))
                    } else {
                        let kind = c.eat_one(&["DATABASE", "SCHEMA", "TABLE", "VIEW"]).unwrap_or("").to_string();
                        let name = if c.at_end() { Vec::new() } else { c.object_name()? };
                        Some((kind, name))
                    }
                } else {
                    None
                };
                c.eat(&["STARTS", "WITH"]).then(|| c.string()).transpose()?;
                if c.eat(&["LIMIT"]) {
                    c.param_value()?;
                }
                c.expect_end()?;
                Stmt::Show { what: what.to_string(), like, scope }
            } else {
                return Ok(None);
            }
        }
        "DESCRIBE" | "DESC" => {
            c.eat_one(&["DESCRIBE", "DESC"]);
            c.eat_one(&["TABLE", "VIEW"]);
            let name = c.object_name()?;
            c.eat(&["TYPE", "=", "COLUMNS"]);
            Stmt::Describe { name }
        }
        "BEGIN" | "START" => {
            if !(c.eat(&["BEGIN"]) || c.eat(&["START", "TRANSACTION"])) {
                return Ok(None);
            }
            c.eat_one(&["TRANSACTION", "WORK"]);
            if c.eat(&["NAME"]) {
                c.ident()?;
            }
            c.expect_end()?;
            Stmt::Begin
        }
        "COMMIT" => {
            c.eat(&["COMMIT"]);
            c.eat(&["WORK"]);
            c.expect_end()?;
            Stmt::Commit
        }
        "ROLLBACK" => {
            c.eat(&["ROLLBACK"]);
            c.eat(&["WORK"]);
            c.expect_end()?;
            Stmt::Rollback
        }
        _ => return Ok(None),
    };
    Ok(Some(stmt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Stmt {
        parse_one(sql).unwrap()
    }

    #[test]
    fn upper_cases_unquoted_words_only() {
        let Stmt::Sql(stmt) = one("select a, \"b\" from t") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT A, \"b\" FROM T");
    }

    #[test]
    fn path_keys_keep_their_case() {
        let Stmt::Sql(stmt) = one("select v:Channel.name[0]::string, x from t") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT V:Channel.name[0]::STRING, X FROM T");
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        let parts = split("select ';'; create table t(x int) ; ; select $$a;b$$").unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].text, "select ';'");
        assert_eq!(parts[2].text, "select $$a;b$$");
    }

    #[test]
    fn floe_grammar() {
        assert!(matches!(one("use database d"), Stmt::Use { kind: UseKind::Database, .. }));
        assert!(matches!(one("use d.s"), Stmt::Use { kind: UseKind::Bare, ref name } if name.len() == 2));
        let Stmt::AlterSessionSet(pairs) = one("alter session set query_tag = 'x', autocommit = false") else { panic!() };
        assert_eq!(pairs[1], ("AUTOCOMMIT".to_string(), ParamValue::Bool(false)));
        assert!(matches!(one("show parameters like 'QUERY%' in session"), Stmt::ShowParameters { .. }));
        assert!(matches!(one("show terse tables like 'T%' in schema d.s"), Stmt::Show { .. }));
        assert!(matches!(one("begin transaction"), Stmt::Begin));
    }

    #[test]
    fn identifier_calls_become_names() {
        let Stmt::Sql(stmt) = one("select identifier('a') from IDENTIFIER( 'db.\"s\".t' )") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT A FROM DB.\"s\".T");
        let Stmt::Use { name, .. } = one("use database identifier('d1')") else { panic!() };
        assert_eq!(name, vec!["D1".to_string()]);
        // A column named IDENTIFIER is still a column.
        let Stmt::Sql(stmt) = one("select identifier from t") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT IDENTIFIER FROM T");
    }

    #[test]
    fn service_table_methods_become_calls() {
        let Stmt::Sql(stmt) = one("select * from table(db.s.\"j1\"!spcs_get_logs(start_time => '2025-01-01')) where instance_id = 0") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT * FROM TABLE(FLOE_SPCS_GET_LOGS('DB.S.\"j1\"', START_TIME => '2025-01-01')) WHERE INSTANCE_ID = 0");
        let Stmt::Sql(stmt) = one("select * from table(job!SPCS_GET_EVENTS())") else { panic!() };
        assert_eq!(stmt.to_string(), "SELECT * FROM TABLE(FLOE_SPCS_GET_EVENTS('JOB'))");
        let Stmt::AlterAccount { set, .. } = one("alter account set event_table = snowflake.telemetry.events, log_event_level = 'INFO'") else { panic!() };
        assert_eq!(set[0].1.display(), "SNOWFLAKE.TELEMETRY.EVENTS");
    }

    #[test]
    fn syntax_errors_name_line_and_position() {
        let err = parse_one("select * frm t").unwrap_err();
        assert_eq!(err.code, "001003");
        assert!(err.message.contains("line 1 at position"), "{}", err.message);
    }
}
