//! The interactive `floe sql` shell.
//!
//! On a terminal it uses rustyline (prompt `floe> `, continuation prompt
//! `   -> `, history in `$HOME/.floe_history`); when stdin is not a terminal
//! it reads lines from stdin without prompts. Either way input accumulates
//! in a [`StatementBuffer`] until it holds a `;`-terminated statement (as
//! judged by the splitter's state machine), and each complete statement is
//! run. Errors are printed and the shell goes on.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::{Config, DefaultEditor};

use crate::format::OutputFormat;
use crate::split::scan;
use crate::wire::Session;

const PROMPT: &str = "floe> ";
const CONTINUATION: &str = "   -> ";

/// Accumulates input lines until they form complete statements.
#[derive(Debug, Default, Clone)]
pub struct StatementBuffer {
    text: String,
}

/// Complete statements taken from a [`StatementBuffer`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The statements, trimmed, without `;`.
    pub statements: Vec<String>,
    /// The input text they came from (for history).
    pub source: String,
}

impl StatementBuffer {
    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Drops pending input.
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Adds one line (or several, for pasted text) and returns the statements
    /// completed by it; the incomplete remainder stays pending. Pending text
    /// consisting only of whitespace and comments is discarded.
    pub fn push_line(&mut self, line: &str) -> Batch {
        self.text.push_str(line);
        self.text.push('\n');
        let s = scan(&self.text);
        let rest_blank = s.rest_is_blank();
        let batch = if s.statements.is_empty() {
            Batch::default()
        } else {
            let consumed = self.text.len() - s.rest.len();
            Batch { statements: s.statements, source: self.text[..consumed].trim().to_string() }
        };
        self.text = if rest_blank { String::new() } else { s.rest.trim_start().to_string() };
        batch
    }

    /// Whatever is pending, as statements (used at end of input).
    pub fn finish(&mut self) -> Vec<String> {
        let out = crate::split::split_statements(&self.text);
        self.text.clear();
        out
    }
}

/// True for `quit`, `exit`, `!quit`, `!exit` (any case, optional `;`).
pub fn is_exit_command(line: &str) -> bool {
    let cmd = line.trim().trim_end_matches(';').trim().to_ascii_lowercase();
    matches!(cmd.as_str(), "quit" | "exit" | "!quit" | "!exit")
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".floe_history"))
}

/// Runs the shell until quit / end of input; returns the exit code.
pub fn run_repl(session: &mut Session, format: OutputFormat) -> i32 {
    if std::io::stdin().is_terminal() {
        let config = Config::builder()
            .max_history_size(1000)
            .map(|b| b.auto_add_history(false).bracketed_paste(false).build())
            .unwrap_or_default();
        match DefaultEditor::with_config(config) {
            Ok(editor) => return interactive(session, format, editor),
            Err(e) => eprintln!("warning: line editing unavailable ({e}); reading plain lines"),
        }
    }
    piped(session, format)
}

fn interactive(session: &mut Session, format: OutputFormat, mut editor: DefaultEditor) -> i32 {
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut buffer = StatementBuffer::default();
    loop {
        let prompt = if buffer.is_empty() { PROMPT } else { CONTINUATION };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && is_exit_command(&line) {
                    break;
                }
                let batch = buffer.push_line(&line);
                if batch.statements.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(batch.source.as_str());
                if let Some(path) = &history {
                    let _ = editor.save_history(path);
                }
                for sql in &batch.statements {
                    if let Err(e) = crate::execute(session, sql, format) {
                        crate::report(&e);
                    }
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error reading input: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    0
}

/// Non-terminal input: statements are read line by line and run as they
/// complete; a final statement without `;` runs at end of input. Returns 0
/// if all statements succeeded, else 1 (2 if the connection failed).
fn piped(session: &mut Session, format: OutputFormat) -> i32 {
    let mut buffer = StatementBuffer::default();
    let mut code = 0;
    let mut run = |session: &mut Session, statements: &[String]| {
        for sql in statements {
            if let Err(e) = crate::execute(session, sql, format) {
                crate::report(&e);
                code = code.max(crate::exit_code(&e));
            }
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error reading input: {e}");
                break;
            }
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if buffer.is_empty() && is_exit_command(text) {
            return code;
        }
        let batch = buffer.push_line(text);
        run(session, &batch.statements);
    }
    let rest = buffer.finish();
    run(session, &rest);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulates_until_semicolon() {
        let mut b = StatementBuffer::default();
        assert!(b.push_line("select").statements.is_empty());
        assert!(!b.is_empty());
        let batch = b.push_line("  1;");
        assert_eq!(batch.statements, vec!["select\n  1"]);
        assert_eq!(batch.source, "select\n  1;");
        assert!(b.is_empty());
    }

    #[test]
    fn several_and_remainder() {
        let mut b = StatementBuffer::default();
        let batch = b.push_line("select 1; select 2; select");
        assert_eq!(batch.statements, vec!["select 1", "select 2"]);
        assert!(!b.is_empty());
        assert_eq!(b.push_line("3;").statements, vec!["select\n3"]);
    }

    #[test]
    fn quotes_and_dollars_span_lines() {
        let mut b = StatementBuffer::default();
        assert!(b.push_line("select 'a;").statements.is_empty());
        assert_eq!(b.push_line("b';").statements, vec!["select 'a;\nb'"]);
        assert!(b.push_line("create service s from specification $$").statements.is_empty());
        assert!(b.push_line("spec: {a: 'x;y'}; ").statements.is_empty());
        assert_eq!(
            b.push_line("$$;").statements,
            vec!["create service s from specification $$\nspec: {a: 'x;y'}; \n$$"]
        );
    }

    #[test]
    fn comments_only_are_dropped() {
        let mut b = StatementBuffer::default();
        assert!(b.push_line("-- just a comment;").statements.is_empty());
        assert!(b.is_empty());
        assert!(b.push_line("select 1; -- trailing").statements.len() == 1);
        assert!(b.is_empty());
        assert!(b.push_line("/* open").statements.is_empty());
        assert!(!b.is_empty());
        assert!(b.push_line("; still open */").statements.is_empty());
        assert!(b.is_empty());
    }

    #[test]
    fn finish_and_clear() {
        let mut b = StatementBuffer::default();
        b.push_line("select 9");
        assert_eq!(b.finish(), vec!["select 9"]);
        assert!(b.is_empty());
        b.push_line("select 'x");
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn exit_commands() {
        for s in ["quit", "exit", "!quit", "!exit", " QUIT ", "exit;", "Quit ;"] {
            assert!(is_exit_command(s), "{s}");
        }
        for s in ["quitter", "select 1", "", "exit now"] {
            assert!(!is_exit_command(s), "{s}");
        }
    }
}
