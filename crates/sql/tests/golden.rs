//! SQL golden tests: each `test_data/*.sql` runs statement by statement against a fresh in-process
//! engine (temp data dir) and its rendered results must equal `test_data/*.out`.
//! `UPDATE_EXPECT=1 cargo test --release -p floe-sql --test golden` rewrites the `.out` files.
//!
//! Times that change from run to run are masked: SHOW/DESCRIBE's `created_on`, `resumed_on` and
//! `updated_on` print as `<time>` (or `<epoch>` for the zero time Snowflake shows for "never"), LIST's
//! `last_modified` as `<time>`. A comment line `--! file DB.SCHEMA.STAGE path content…` before a
//! statement writes a stage file (content plus a newline) first, standing in for PUT. `--! session USER
//! [ROLE]` continues in a new session of that user, with its default role or the role given (which must
//! be granted to it, as at login). The first session is ADMIN's (created as at first start) with
//! ACCOUNTADMIN. Programmatic access tokens' `expires_at` prints as `<time>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::sql::sqlparser::tokenizer::{Token, Whitespace};
use floe_sql as sql;
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

async fn run_file(path: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::open(dir.path(), 64 << 20).unwrap();
    let engine = Engine::new(store, EngineConfig::default()).unwrap();
    sql::auth::ensure_admin(&engine, Some("golden")).unwrap();
    let mut session = Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    let text = std::fs::read_to_string(path).unwrap();
    let statements = sql::parse::split(&text).unwrap();
    let mut out = String::new();
    for statement in statements {
        for token in &statement.tokens {
            if let Token::Whitespace(Whitespace::SingleLineComment { comment, .. }) = &token.token
                && let Some(directive) = comment.strip_prefix('!')
            {
                out.push_str(&format!(">!{}\n", directive.trim_end()));
                if let Some(next) = run_directive(&engine, directive.trim(), session.id + 1) {
                    session = next;
                }
            }
        }
        let sql_text = statement.text.trim();
        if sql_text.lines().all(|l| l.trim_start().starts_with("--")) {
            continue;
        }
        out.push_str(&format!("> {}\n", sql_text.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n  ")));
        match engine.execute(&mut session, sql_text, &CancellationToken::new()).await {
            Ok(mut results) => {
                let result = results.pop().unwrap();
                if result.batches.is_empty() || result.num_rows() == 0 {
                    let names: Vec<&str> = result.schema.fields().iter().map(|f| f.name().as_str()).collect();
                    out.push_str(&format!("(no rows) [{}]\n", names.join(", ")));
                } else {
                    out.push_str(&pretty_format_batches(&mask_times(&result.batches)).unwrap().to_string());
                    out.push('\n');
                }
            }
            Err(e) => out.push_str(&format!("ERROR {e}\n")),
        }
        out.push('\n');
    }
    out
}

/// `file DB.SCHEMA.STAGE path content…`: writes a file into a stage's directory. `session USER [ROLE]`:
/// returns a new session of that user.
fn run_directive(engine: &Engine, directive: &str, next_id: u64) -> Option<Session> {
    let mut words = directive.splitn(4, ' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("session"), Some(user), role, None) => {
            let role = sql::auth::login_role(engine, user, role).unwrap_or_else(|e| panic!("{directive}: {e}"));
            Some(Session { id: next_id, user: user.to_string(), role, ..Default::default() })
        }
        (Some("file"), Some(stage), Some(path), content) => {
            let parts: Vec<&str> = stage.split('.').collect();
            let [db, schema, name] = parts.as_slice() else { panic!("bad stage in directive: {directive}") };
            let dir = sql::objects::stage::stage_dir(engine.store().path(), db, schema, name);
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, format!("{}\n", content.unwrap_or(""))).unwrap();
            None
        }
        _ => panic!("unknown golden directive: {directive}"),
    }
}

/// Replaces the run-dependent time columns with `<time>` / `<epoch>`.
fn mask_times(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    batches
        .iter()
        .map(|batch| {
            let mut fields = Vec::new();
            let mut columns: Vec<ArrayRef> = Vec::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let masked: Option<Vec<Option<&str>>> = match (field.name().as_str(), field.data_type()) {
                    ("created_on" | "resumed_on" | "updated_on" | "expires_at" | "expires_at_time", DataType::Timestamp(..)) => {
                        let times = column.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
                        Some((0..times.len()).map(|i| times.is_valid(i).then(|| if times.value(i) == 0 { "<epoch>" } else { "<time>" })).collect())
                    }
                    ("last_modified", DataType::Utf8) => Some((0..column.len()).map(|i| column.is_valid(i).then_some("<time>")).collect()),
                    _ => None,
                };
                match masked {
                    Some(values) => {
                        fields.push(Field::new(field.name(), DataType::Utf8, true));
                        columns.push(Arc::new(StringArray::from(values)));
                    }
                    None => {
                        fields.push(field.as_ref().clone());
                        columns.push(column.clone());
                    }
                }
            }
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "sql")).collect();
    files.sort();
    assert!(!files.is_empty());
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for file in files {
        let actual = run_file(&file).await;
        let expected_path = file.with_extension("out");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let actual_path = file.with_extension("actual");
            std::fs::write(&actual_path, &actual).unwrap();
            failures.push(format!("{} differs (see {})", expected_path.display(), actual_path.display()));
        }
    }
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}
