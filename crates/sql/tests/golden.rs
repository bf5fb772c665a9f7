//! SQL golden tests: each `test_data/*.sql` runs statement by statement against a fresh in-process
//! engine (temp data dir) and its rendered results must equal `test_data/*.out`.
//! `UPDATE_EXPECT=1 cargo test --release -p floe-sql --test golden` rewrites the `.out` files.

use std::path::{Path, PathBuf};

use datafusion::arrow::util::pretty::pretty_format_batches;
use floe_sql as sql;
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

async fn run_file(path: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::open(dir.path(), 64 << 20).unwrap();
    let engine = Engine::new(store, EngineConfig::default()).unwrap();
    let mut session = Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    let text = std::fs::read_to_string(path).unwrap();
    let statements = sql::parse::split(&text).unwrap();
    let mut out = String::new();
    for statement in statements {
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
                    out.push_str(&pretty_format_batches(&result.batches).unwrap().to_string());
                    out.push('\n');
                }
            }
            Err(e) => out.push_str(&format!("ERROR {e}\n")),
        }
        out.push('\n');
    }
    out
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
