//! floe-js: Snowflake's JavaScript functions (`CREATE FUNCTION … LANGUAGE JAVASCRIPT AS '…'`) on
//! QuickJS, for calls from queries and for external functions' request and response translators.
//!
//! A function is its parameter names (upper case, as Snowflake exposes unquoted argument names to the
//! code) and its body, which runs as the body of `function (A, B) { … }`. Values cross as JSON: each
//! argument is JSON text (None for SQL NULL, which the code sees as `undefined`), and the returned value
//! comes back as JSON (`undefined` and `null` both as `Value::Null`, which the caller turns into SQL
//! NULL). Each `run` gets a fresh runtime bounded in time and memory, so one call cannot see another's
//! globals and a runaway loop ends with an error instead of holding a thread.
//!
//! Pure computation: no I/O, no threads; callers run it on a blocking thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Runtime, Value};

/// Bounds of one `run`.
#[derive(Clone)]
pub struct Limits {
    /// Wall time of the whole run (compilation and every row).
    pub timeout: Duration,
    /// Heap of the runtime, and also the bound on all values one run returns together.
    pub memory_bytes: usize,
    /// Asked with the time limit whether to stop the code (a cancelled statement).
    pub cancel: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").field("timeout", &self.timeout).field("memory_bytes", &self.memory_bytes).finish()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(60), memory_bytes: 256 * 1024 * 1024, cancel: None }
    }
}

/// Snowflake's bound on one value (16 MB); a returned value's JSON text may not exceed it.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Why a function failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The body is not valid JavaScript (reported at CREATE FUNCTION).
    Compile(String),
    /// The code threw, ran out of time or memory, or returned something JSON cannot carry.
    Execution(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Compile(m) => write!(f, "JavaScript compilation error: {m}"),
            Error::Execution(m) => write!(f, "JavaScript execution error: {m}"),
        }
    }
}

/// A function's code: its name (for messages), parameter names and body.
#[derive(Debug, Clone, Copy)]
pub struct Code<'a> {
    /// Upper-case name, as messages print it.
    pub name: &'a str,
    /// Parameter names as the body refers to them.
    pub params: &'a [String],
    /// The AS text.
    pub body: &'a str,
}


/// Compiles the code without running it (CREATE FUNCTION's check).
pub fn check(code: Code<'_>, limits: &Limits) -> Result<(), Error> {
    with_function(code, limits, |_, _| Ok(()))
}

/// One argument as the code sees it (Snowflake's SQL-JavaScript type mapping).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A value given as JSON text: strings, booleans, VARIANT/OBJECT/ARRAY, NUMBER as a number.
    Json(String),
    /// A JS number (FLOAT, including NaN and ±Infinity, which JSON cannot carry).
    Number(f64),
    /// A JS `Date` at these milliseconds since the epoch (DATE, TIMESTAMP_*).
    Date(f64),
    /// A `Uint8Array` (BINARY).
    Bytes(Vec<u8>),
}

/// Calls the function once per row (each row one argument per parameter, None for SQL NULL, which the
/// code sees as `undefined`) and returns one value per row, in order.
pub fn run(code: Code<'_>, rows: &[Vec<Option<Arg>>], limits: &Limits) -> Result<Vec<serde_json::Value>, Error> {
    with_function(code, limits, |ctx, f| {
        let mut out = Vec::with_capacity(rows.len());
        let mut total = 0usize;
        let make_date: Function = ctx.eval("(function (ms) { return new Date(ms); })").map_err(|e| Error::Execution(e.to_string()))?;
        for row in rows {
            let mut args = rquickjs::function::Args::new(ctx.clone(), row.len());
            for arg in row {
                let value = match arg {
                    Some(Arg::Json(text)) => ctx.json_parse(text.as_str()).catch(ctx).map_err(|e| execution(code, e))?,
                    Some(Arg::Number(n)) => Value::new_float(ctx.clone(), *n),
                    Some(Arg::Date(ms)) => make_date.call((*ms,)).catch(ctx).map_err(|e| execution(code, e))?,
                    Some(Arg::Bytes(b)) => rquickjs::TypedArray::<u8>::new(ctx.clone(), b.clone()).map_err(|e| Error::Execution(e.to_string()))?.into_value(),
                    None => Value::new_undefined(ctx.clone()),
                };
                args.push_arg(value).map_err(|e| Error::Execution(e.to_string()))?;
            }
            let result: Value = f.call_arg(args).catch(ctx).map_err(|e| execution(code, e))?;
            let (value, bytes) = to_json(ctx, code, result)?;
            total += bytes;
            if total > limits.memory_bytes {
                return Err(Error::Execution(format!("the values returned by {} exceed {} bytes in one batch", code.name, limits.memory_bytes)));
            }
            out.push(value);
        }
        Ok(out)
    })
}

/// Calls a one-parameter function with a JSON value (translators: `EVENT OBJECT` → `OBJECT`).
pub fn call_one(code: Code<'_>, arg: &serde_json::Value, limits: &Limits) -> Result<serde_json::Value, Error> {
    let rows = [vec![Some(Arg::Json(arg.to_string()))]];
    Ok(run(code, &rows, limits)?.pop().unwrap_or(serde_json::Value::Null))
}

fn with_function<T>(code: Code<'_>, limits: &Limits, body: impl for<'js> FnOnce(&Ctx<'js>, &Function<'js>) -> Result<T, Error>) -> Result<T, Error> {
    let runtime = Runtime::new().map_err(|e| Error::Execution(e.to_string()))?;
    runtime.set_memory_limit(limits.memory_bytes);
    let deadline = Instant::now() + limits.timeout;
    let cancel = limits.cancel.clone();
    let stop = move || Instant::now() >= deadline || cancel.as_ref().is_some_and(|c| c());
    let stop_handler = stop.clone();
    runtime.set_interrupt_handler(Some(Box::new(stop_handler)));
    let context = Context::full(&runtime).map_err(|e| Error::Execution(e.to_string()))?;
    context
        .with(|ctx| {
            // `Function(A, B, body)` parses the body on its own as a function body (sloppy mode, as
            // Snowflake runs functions: its published translators assign undeclared loop variables),
            // so no text of the body runs outside the function, not even at compilation.
            let constructor: Function = ctx.globals().get("Function").map_err(|e| Error::Compile(e.to_string()))?;
            let mut args = rquickjs::function::Args::new(ctx.clone(), code.params.len() + 1);
            for p in code.params {
                args.push_arg(p.as_str()).map_err(|e| Error::Compile(e.to_string()))?;
            }
            args.push_arg(code.body).map_err(|e| Error::Compile(e.to_string()))?;
            let f: Function = constructor.call_arg(args).catch(&ctx).map_err(|e| Error::Compile(describe(code, e)))?;
            // QuickJS builds that function from the joined text, so a body that closes it early
            // (`}), (function () { … })(), (function () {`) still yields a function: the one whose
            // source is not the whole body. Such a body is refused.
            let to_string: Function = ctx.eval("Function.prototype.toString").map_err(|e| Error::Compile(e.to_string()))?;
            let text: String = to_string.call((rquickjs::function::This(f.clone()),)).map_err(|e| Error::Compile(e.to_string()))?;
            if !text.starts_with("function anonymous(") || !text.ends_with(&format!("\n{}\n}}", code.body)) {
                return Err(Error::Compile(format!("the body of {} is not one function body", code.name)));
            }
            body(&ctx, &f)
        })
        .map_err(|e| match e {
            Error::Execution(m) if Instant::now() >= deadline => {
                Error::Execution(format!("{m} (function {} exceeded its time limit of {} s)", code.name, limits.timeout.as_secs_f64()))
            }
            Error::Execution(m) if stop() => Error::Execution(format!("{m} (the statement was cancelled)")),
            other => other,
        })
}

fn execution(code: Code<'_>, e: CaughtError<'_>) -> Error {
    Error::Execution(describe(code, e))
}

/// `Uncaught TypeError: cannot read property 'x' of undefined in F at line 2`.
fn describe(code: Code<'_>, e: CaughtError<'_>) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let name: String = ex.get("name").unwrap_or_else(|_| "Error".into());
            let message = ex.message().unwrap_or_default();
            let line = ex.stack().and_then(|s| first_line_number(&s)).map(|l| format!(" at line {}", l.saturating_sub(1).max(1))).unwrap_or_default();
            format!("Uncaught {name}: {message} in {}{line}", code.name)
        }
        CaughtError::Value(v) => {
            let text = v.as_string().and_then(|s| s.to_string().ok()).or_else(|| v.ctx().json_stringify(v.clone()).ok().flatten().and_then(|s| s.to_string().ok()));
            format!("Uncaught {} in {}", text.unwrap_or_else(|| "exception".into()), code.name)
        }
        CaughtError::Error(e) => format!("{e} in {}", code.name),
    }
}

/// The line of the function's first frame in a QuickJS stack (`anonymous (<input>:N…)`); the Function
/// constructor's header takes two lines.
fn first_line_number(stack: &str) -> Option<u32> {
    let at = stack.find("<input>:")?;
    let rest = &stack[at + "<input>:".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u32>().ok().map(|l| l.saturating_sub(1))
}

/// A returned value as JSON, and the size of its text.
fn to_json<'js>(ctx: &Ctx<'js>, code: Code<'_>, v: Value<'js>) -> Result<(serde_json::Value, usize), Error> {
    if v.is_undefined() || v.is_null() {
        return Ok((serde_json::Value::Null, 0));
    }
    // A Uint8Array (what a BINARY function returns) as hex text, which BINARY is decoded from.
    if let Some(bytes) = v.as_object().and_then(|o| o.as_typed_array::<u8>()).and_then(|t| t.as_bytes()) {
        if bytes.len() * 2 > MAX_VALUE_BYTES {
            return Err(Error::Execution(format!("the value returned by {} is {} bytes, over the limit of {MAX_VALUE_BYTES}", code.name, bytes.len() * 2)));
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        let len = hex.len();
        return Ok((serde_json::Value::String(hex), len));
    }
    let text = ctx.json_stringify(v).catch(ctx).map_err(|e| execution(code, e))?;
    match text {
        None => Ok((serde_json::Value::Null, 0)),
        Some(s) => {
            let s = s.to_string().map_err(|e| Error::Execution(e.to_string()))?;
            if s.len() > MAX_VALUE_BYTES {
                return Err(Error::Execution(format!("the value returned by {} is {} bytes, over the limit of {MAX_VALUE_BYTES}", code.name, s.len())));
            }
            let value = serde_json::from_str(&s).map_err(|e| Error::Execution(format!("the value returned by {} is not JSON: {e}", code.name)))?;
            Ok((value, s.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn code<'a>(params: &'a [String], body: &'a str) -> Code<'a> {
        Code { name: "F", params, body }
    }

    #[test]
    fn rows_in_rows_out_with_nulls_as_undefined() {
        let params = vec!["A".to_string(), "B".to_string()];
        let c = code(&params, "if (A === undefined) return 'none'; return A + B;");
        let j = |t: &str| Some(Arg::Json(t.into()));
        let rows = vec![vec![j("1"), j("2")], vec![None, j("2")], vec![j("\"x\""), j("\"y\"")]];
        assert_eq!(run(c, &rows, &Limits::default()).unwrap(), vec![json!(3), json!("none"), json!("xy")]);
    }

    #[test]
    fn objects_cross_as_json_and_undefined_is_null() {
        let params = vec!["EVENT".to_string()];
        let c = code(&params, "var out = []; for (var i = 0; i < EVENT.body.data.length; i++) { out.push(EVENT.body.data[i][1]); } return {body: {TextList: out}, translatorData: EVENT.body.data.length};");
        let got = call_one(c, &json!({"body": {"data": [[0, "a"], [1, "b"]]}}), &Limits::default()).unwrap();
        assert_eq!(got, json!({"body": {"TextList": ["a", "b"]}, "translatorData": 2}));
        let none = code(&params, "return;");
        assert_eq!(call_one(none, &json!({}), &Limits::default()).unwrap(), serde_json::Value::Null);
    }

    #[test]
    fn syntax_errors_fail_the_check_and_exceptions_name_the_function() {
        let params = vec!["X".to_string()];
        assert!(matches!(check(code(&params, "return X +;"), &Limits::default()), Err(Error::Compile(m)) if m.contains("SyntaxError")));
        assert!(check(code(&params, "return X + 1;"), &Limits::default()).is_ok());
        let err = run(code(&params, "return Y;"), &[vec![Some(Arg::Json("1".into()))]], &Limits::default()).unwrap_err();
        assert!(matches!(&err, Error::Execution(m) if m.starts_with("Uncaught ReferenceError") && m.contains("in F")), "{err}");
        let thrown = run(code(&params, "throw 'boom';"), &[vec![Some(Arg::Json("1".into()))]], &Limits::default()).unwrap_err();
        assert_eq!(thrown, Error::Execution("Uncaught boom in F".into()));
    }

    #[test]
    fn a_runaway_loop_ends_at_the_time_limit() {
        let params: Vec<String> = Vec::new();
        let limits = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
        let err = run(code(&params, "while (true) {}"), &[vec![]], &limits).unwrap_err();
        assert!(matches!(&err, Error::Execution(m) if m.contains("time limit")), "{err}");
        // A cancelled statement stops its code at once.
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let limits = Limits { cancel: Some(Arc::new(move || flag.load(Ordering::Relaxed))), ..Limits::default() };
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.store(true, Ordering::Relaxed);
        });
        let started = Instant::now();
        let err = run(code(&params, "while (true) {}"), &[vec![]], &limits).unwrap_err();
        stopper.join().unwrap();
        assert!(matches!(&err, Error::Execution(m) if m.contains("cancelled")), "{err}");
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn the_body_cannot_run_code_outside_its_function_and_values_are_bounded() {
        let params = vec!["A".to_string()];
        // A body closing the function early is a syntax error, not code run at compilation.
        let escape = "}), (function () { globalThis.ran = 1; })(), (function () {";
        assert!(matches!(check(code(&params, escape), &Limits::default()), Err(Error::Compile(_))));
        let big = run(code(&params, "return 'x'.repeat(17 * 1024 * 1024);"), &[vec![None]], &Limits::default()).unwrap_err();
        assert!(matches!(&big, Error::Execution(m) if m.contains("over the limit")), "{big}");
        let small = Limits { memory_bytes: 64 * 1024 * 1024, ..Limits::default() };
        let many = run(code(&params, "return 'x'.repeat(1024 * 1024);"), &vec![vec![None]; 100], &small).unwrap_err();
        assert!(matches!(&many, Error::Execution(m) if m.contains("in one batch")), "{many}");
    }

    #[test]
    fn dates_and_floats_arrive_as_js_values() {
        let params = vec!["D".to_string(), "F".to_string()];
        let c = code(&params, "return [D.getUTCFullYear(), D.getUTCMonth() + 1, D.getUTCDate(), isNaN(F), D];");
        let got = run(c, &[vec![Some(Arg::Date(1_706_933_106_500.0)), Some(Arg::Number(f64::NAN))]], &Limits::default()).unwrap();
        assert_eq!(got, vec![json!([2024, 2, 3, true, "2024-02-03T04:05:06.500Z"])]);
    }

    #[test]
    fn binary_crosses_as_uint8array() {
        let params = vec!["B".to_string()];
        let c = code(&params, "var out = new Uint8Array(B.length); for (var i = 0; i < B.length; i++) { out[i] = B[i] + 1; } return out;");
        assert_eq!(run(c, &[vec![Some(Arg::Bytes(vec![0x00, 0xFE]))]], &Limits::default()).unwrap(), vec![json!("01FF")]);
    }

    #[test]
    fn each_run_starts_with_fresh_globals() {
        let params: Vec<String> = Vec::new();
        // Undeclared assignments work (sloppy mode), and stay within one run.
        let c = code(&params, "for (i = 0; i < 1; i++) {} if (typeof counter === 'undefined') { counter = 0; } counter += 1; return counter;");
        assert_eq!(run(c, &[vec![], vec![]], &Limits::default()).unwrap(), vec![json!(1), json!(2)]);
        assert_eq!(run(c, &[vec![]], &Limits::default()).unwrap(), vec![json!(1)]);
    }
}
