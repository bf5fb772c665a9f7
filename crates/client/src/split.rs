//! Splitting SQL text into statements.
//!
//! A small lexical state machine finds the `;` terminators that are outside
//! single-quoted strings (`'it''s'`, backslash escapes), double-quoted
//! identifiers (`"a;b"`, `""` doubling), dollar-quoted strings (`$$ … $$`),
//! line comments (`--`, `//`) and block comments (`/* … */`). The same
//! machine tells the REPL whether its input buffer holds a complete statement
//! yet ([`scan`]), and [`split_statements`] uses it for `-q` and `-f`.

/// Where the scanner is at a given byte: in plain SQL or inside a quoted or
/// commented region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexState {
    /// Plain SQL text.
    Normal,
    /// Inside `'…'`.
    SingleQuote,
    /// Inside `"…"`.
    DoubleQuote,
    /// Inside `$$…$$`.
    Dollar,
    /// Inside `-- …` or `// …` (ends at a newline).
    LineComment,
    /// Inside `/* … */`.
    BlockComment,
}

/// The outcome of scanning a piece of SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// Statements terminated by `;`, trimmed, without the `;`; statements
    /// that are empty or consist only of comments are left out.
    pub statements: Vec<String>,
    /// The (untrimmed) text after the last terminating `;`.
    pub rest: &'a str,
    /// Whether `rest` holds anything besides whitespace and comments.
    pub rest_has_code: bool,
    /// The lexical state at the end of the text (`Normal` unless the text
    /// ends inside a string, identifier or comment).
    pub state: LexState,
}

impl Scan<'_> {
    /// True when the text after the last `;` can be thrown away: it is only
    /// whitespace and finished comments.
    pub fn rest_is_blank(&self) -> bool {
        !self.rest_has_code && self.state != LexState::BlockComment
    }
}

/// Scans `text`, returning the complete (`;`-terminated) statements and
/// whatever follows the last terminator.
pub fn scan(text: &str) -> Scan<'_> {
    use LexState::*;
    let b = text.as_bytes();
    let mut state = Normal;
    let mut statements = Vec::new();
    let mut start = 0usize;
    let mut has_code = false;
    let mut i = 0usize;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match state {
            Normal => match c {
                b';' => {
                    if has_code {
                        statements.push(text[start..i].trim().to_string());
                    }
                    start = i + 1;
                    has_code = false;
                }
                b'\'' => {
                    state = SingleQuote;
                    has_code = true;
                }
                b'"' => {
                    state = DoubleQuote;
                    has_code = true;
                }
                b'$' if next == Some(b'$') => {
                    state = Dollar;
                    has_code = true;
                    i += 1;
                }
                b'-' if next == Some(b'-') => {
                    state = LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'/') => {
                    state = LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = BlockComment;
                    i += 1;
                }
                c if c.is_ascii_whitespace() => {}
                _ => has_code = true,
            },
            SingleQuote => match c {
                // A backslash escapes the next byte (which may be a quote).
                b'\\' => i += 1,
                b'\'' if next == Some(b'\'') => i += 1,
                b'\'' => state = Normal,
                _ => {}
            },
            DoubleQuote => match c {
                b'"' if next == Some(b'"') => i += 1,
                b'"' => state = Normal,
                _ => {}
            },
            Dollar => {
                if c == b'$' && next == Some(b'$') {
                    state = Normal;
                    i += 1;
                }
            }
            LineComment => {
                if c == b'\n' {
                    state = Normal;
                }
            }
            BlockComment => {
                if c == b'*' && next == Some(b'/') {
                    state = Normal;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    Scan {
        statements,
        rest: &text[start.min(text.len())..],
        rest_has_code: has_code,
        state,
    }
}

/// Splits SQL text into trimmed statements (without their `;`), dropping
/// empty and comment-only pieces. A final statement without `;` counts.
pub fn split_statements(text: &str) -> Vec<String> {
    let s = scan(text);
    let mut out = s.statements;
    if s.rest_has_code {
        out.push(s.rest.trim().to_string());
    }
    out
}

/// True when `text` holds at least one `;`-terminated statement.
pub fn has_complete_statement(text: &str) -> bool {
    !scan(text).statements.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_statements(s)
    }

    #[test]
    fn basic() {
        assert_eq!(split("select 1; select 2;"), vec!["select 1", "select 2"]);
        assert_eq!(split("select 1"), vec!["select 1"]);
        assert_eq!(split("  select 1  ;\n\n select 2  "), vec!["select 1", "select 2"]);
        assert!(split("").is_empty());
        assert!(split("  ;; ;\n").is_empty());
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split("select 'a;b'; select 2"), vec!["select 'a;b'", "select 2"]);
        assert_eq!(split("select 'it''s; ok'; x"), vec!["select 'it''s; ok'", "x"]);
        assert_eq!(split(r"select 'it\'s; ok'; x"), vec![r"select 'it\'s; ok'", "x"]);
        assert_eq!(split(r"select 'back\\'; x"), vec![r"select 'back\\'", "x"]);
        assert_eq!(split("select ''; x"), vec!["select ''", "x"]);
        assert_eq!(split("select '--not a comment;'; x"), vec!["select '--not a comment;'", "x"]);
        assert_eq!(split("select '/*'; x"), vec!["select '/*'", "x"]);
    }

    #[test]
    fn double_quotes() {
        assert_eq!(split(r#"select 1 as "a;b"; x"#), vec![r#"select 1 as "a;b""#, "x"]);
        assert_eq!(split(r#"select 1 as "a"";b"; x"#), vec![r#"select 1 as "a"";b""#, "x"]);
        assert_eq!(split(r#"select 1 as "it's"; x"#), vec![r#"select 1 as "it's""#, "x"]);
    }

    #[test]
    fn dollar_quotes() {
        assert_eq!(
            split("create function f() returns int as $$ select 1; $$; select 2"),
            vec!["create function f() returns int as $$ select 1; $$", "select 2"]
        );
        assert_eq!(split("select $$it's; \"x$$;y"), vec!["select $$it's; \"x$$", "y"]);
        assert_eq!(split("select $1; select $2"), vec!["select $1", "select $2"]);
    }

    #[test]
    fn service_spec_yaml() {
        let text = "CREATE SERVICE svc\n  IN COMPUTE POOL pool\n  FROM SPECIFICATION $$\nspec:\n  containers:\n  - name: main\n    image: /db/schema/repo/img:latest\n    command: [\"sh\", \"-c\", \"echo 'hi'; sleep 10\"]\n    env:\n      MSG: it's fine; really -- not a comment\n      URL: http://example.com/a;b\n  endpoints:\n  - name: web /* nope */\n    port: 8080\n$$;\nSHOW SERVICES;\n";
        let got = split(text);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("CREATE SERVICE svc"));
        assert!(got[0].ends_with("port: 8080\n$$"));
        assert!(got[0].contains("echo 'hi'; sleep 10"));
        assert!(got[0].contains("it's fine; really -- not a comment\n"));
        assert_eq!(got[1], "SHOW SERVICES");
    }

    #[test]
    fn comments() {
        assert_eq!(split("select 1; -- done"), vec!["select 1"]);
        assert_eq!(split("-- a; b\nselect 1"), vec!["-- a; b\nselect 1"]);
        assert_eq!(split("// a; b\nselect 1;"), vec!["// a; b\nselect 1"]);
        assert_eq!(split("select /* ; */ 1; select 2"), vec!["select /* ; */ 1", "select 2"]);
        assert_eq!(split("select 1 -- trailing ; x\n; select 2"), vec!["select 1 -- trailing ; x", "select 2"]);
        assert!(split("-- only a comment;\n").is_empty());
        assert!(split("/* only ; block */ ; -- x\n;").is_empty());
        assert_eq!(split("/* multi\nline; 'x */ select 'a'"), vec!["/* multi\nline; 'x */ select 'a'"]);
        assert_eq!(split("select 4/2; select 5-1"), vec!["select 4/2", "select 5-1"]);
    }

    #[test]
    fn unterminated() {
        assert_eq!(split("select 'abc; def"), vec!["select 'abc; def"]);
        assert!(split("/* never closed; select 1").is_empty());
        let s = scan("select 'a;\n");
        assert!(s.statements.is_empty());
        assert_eq!(s.state, LexState::SingleQuote);
    }

    #[test]
    fn utf8() {
        assert_eq!(split("select 'é;ü'; select '日本'"), vec!["select 'é;ü'", "select '日本'"]);
        assert_eq!(split(r"select 'é\é;'; x"), vec![r"select 'é\é;'", "x"]);
    }

    #[test]
    fn scan_state() {
        let s = scan("select 1;\nselect");
        assert_eq!(s.statements, vec!["select 1"]);
        assert_eq!(s.rest, "\nselect");
        assert!(s.rest_has_code);
        let s = scan("select 1; -- c\n");
        assert!(s.rest_is_blank());
        let s = scan("select 1; /* c\n");
        assert_eq!(s.state, LexState::BlockComment);
        assert!(!s.rest_is_blank());
        let s = scan("create x as $$\na;\n");
        assert!(s.statements.is_empty());
        assert_eq!(s.state, LexState::Dollar);
        assert!(has_complete_statement("create x as $$\na;\n$$;"));
        assert!(!has_complete_statement("select 1"));
    }
}
