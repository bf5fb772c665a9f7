//! `TABLE(INFER_SCHEMA(LOCATION => '@stage[/path]', FILE_FORMAT => 'fmt' [, FILES => …, IGNORE_CASE =>
//! …]))`: the columns of the staged files, as `write_pandas(auto_create_table=True)` and
//! `CREATE TABLE … USING TEMPLATE` read them. `rewrite` turns the call into
//! `floe_infer_schema(location, file_format, files, ignore_case)`; this table function reads the files
//! while the statement is planned.
//!
//! Columns: COLUMN_NAME, TYPE, NULLABLE, EXPRESSION (`$1:"name"::TYPE`), FILENAMES, ORDER_ID, in the
//! order of first appearance over the files. Parquet columns take their type from the file's schema
//! (`parquet_file::sf_type_name`); JSON keys and CSV header columns (PARSE_HEADER = TRUE) from their
//! values: integers NUMBER(38, 0), other numbers REAL, booleans BOOLEAN, objects OBJECT, arrays ARRAY,
//! text TEXT. A column whose files disagree widens: integers and reals to REAL, anything else to
//! TEXT (inferred: Snowflake documents no merge table).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use model::SfError;
use serde_json::Value as Json;

use super::StageRef;
use super::copy::{Record, named, read_file, records};
use super::file_format::{FileType, FormatOptions};
use crate::engine::Engine;
use crate::spcs::telemetry::{external, str_arg};
use crate::session::Session;

/// The per-statement table function, bound to its session.
pub struct InferSchema {
    engine: Engine,
    session: Arc<Session>,
}

impl std::fmt::Debug for InferSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "floe_infer_schema for session {}", self.session.id)
    }
}

impl InferSchema {
    /// The function for one statement of `session`.
    pub fn new(engine: Engine, session: Arc<Session>) -> Self {
        Self { engine, session }
    }
}

/// One inferred column.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    name: String,
    ty: String,
    files: Vec<String>,
}

/// The type of one JSON value (None for null: it says nothing).
fn json_type(v: &Json) -> Option<&'static str> {
    Some(match v {
        Json::Null => return None,
        Json::Bool(_) => "BOOLEAN",
        Json::Number(n) if n.is_i64() || n.is_u64() => "NUMBER(38, 0)",
        Json::Number(_) => "REAL",
        Json::String(_) => "TEXT",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    })
}

/// The type of one CSV field.
fn text_type(v: &str) -> &'static str {
    let t = v.trim();
    if t.parse::<i64>().is_ok() {
        "NUMBER(38, 0)"
    } else if t.parse::<f64>().is_ok() {
        "REAL"
    } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        "BOOLEAN"
    } else {
        "TEXT"
    }
}

fn widen(a: &str, b: &str) -> String {
    let numeric = |t: &str| t == "REAL" || t.starts_with("NUMBER");
    if a == b {
        a.to_string()
    } else if numeric(a) && numeric(b) {
        "REAL".into()
    } else {
        "TEXT".into()
    }
}

/// Adds what one file says about `name`.
fn merge(columns: &mut Vec<Column>, name: &str, ty: Option<&str>, file: &str, ignore_case: bool) {
    let same = |c: &Column| if ignore_case { c.name.eq_ignore_ascii_case(name) } else { c.name == name };
    match columns.iter_mut().find(|c| same(c)) {
        Some(c) => {
            if let Some(ty) = ty {
                c.ty = if c.ty.is_empty() { ty.to_string() } else { widen(&c.ty, ty) };
            }
            if !c.files.iter().any(|f| f == file) {
                c.files.push(file.to_string());
            }
        }
        None => columns.push(Column {
            name: if ignore_case { name.to_uppercase() } else { name.to_string() },
            ty: ty.unwrap_or_default().to_string(),
            files: vec![file.to_string()],
        }),
    }
}

/// The columns one file adds.
fn infer_file(columns: &mut Vec<Column>, bytes: Vec<u8>, format: &FormatOptions, file: &str, ignore_case: bool) -> Result<(), String> {
    if format.file_type == FileType::Parquet {
        let (schema, _) = super::parquet_file::read(bytes)?;
        for field in schema.fields() {
            merge(columns, field.name(), Some(&super::parquet_file::sf_type_name(field.data_type())), file, ignore_case);
        }
        return Ok(());
    }
    let (header, recs) = records(bytes, format)?;
    if format.file_type == FileType::Csv {
        let header = header.ok_or("INFER_SCHEMA of CSV files needs a file format with PARSE_HEADER = TRUE")?;
        for (i, name) in header.iter().enumerate() {
            let mut ty: Option<String> = None;
            for (_, rec) in &recs {
                if let Record::Fields(fields) = rec
                    && let Some(Some(v)) = fields.get(i)
                {
                    let t = text_type(v);
                    ty = Some(ty.map_or_else(|| t.to_string(), |old| widen(&old, t)));
                }
            }
            merge(columns, name, Some(ty.as_deref().unwrap_or("TEXT")), file, ignore_case);
        }
        return Ok(());
    }
    for (_, rec) in &recs {
        if let Record::Doc(Json::Object(map)) = rec {
            for (k, v) in map {
                merge(columns, k, json_type(v), file, ignore_case);
            }
        }
    }
    Ok(())
}

impl InferSchema {
    fn infer(&self, location: &str, format_name: &str, files: Option<Vec<String>>, ignore_case: bool) -> Result<Vec<Column>, SfError> {
        let stage_ref = StageRef::parse(location).ok_or_else(|| SfError::invalid_value("LOCATION", location))?;
        let resolved = super::stage::resolve_stage(&self.engine, &self.session, &stage_ref.name, "INFER_SCHEMA")?;
        let format = FormatOptions::from_map(&named(&self.engine, &self.session, format_name)?)?;
        let mut selected = super::stage::select_files_now(&resolved, &stage_ref.path, None)?;
        if let Some(wanted) = files {
            let prefix = if stage_ref.path.is_empty() || stage_ref.path.ends_with('/') { stage_ref.path.clone() } else { format!("{}/", stage_ref.path) };
            selected.retain(|f| wanted.iter().any(|w| f == &format!("{prefix}{w}") || f == w));
        }
        let mut columns = Vec::new();
        for rel in &selected {
            let Some(full) = super::stage::stage_file_path(&resolved.dir, rel) else { continue };
            let bytes = read_file(&full, &format.compression, format.file_type)?;
            infer_file(&mut columns, bytes, &format, rel, ignore_case)
                .map_err(|message| SfError::new("100069", "22000", model::ErrorKind::InvalidArgument, format!("{message}\n  File '{}/{rel}'", resolved.stage.name.to_lowercase())))?;
        }
        for c in &mut columns {
            if c.ty.is_empty() {
                c.ty = "TEXT".into();
            }
        }
        Ok(columns)
    }
}

impl TableFunctionImpl for InferSchema {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let location = str_arg(args, 0).ok_or_else(|| external(SfError::compilation("INFER_SCHEMA needs LOCATION => '@stage'")))?;
        let format_name = str_arg(args, 1).ok_or_else(|| external(SfError::compilation("INFER_SCHEMA needs FILE_FORMAT => '<named file format>'")))?;
        let files = str_arg(args, 2).map(|f| f.split(',').map(|p| p.trim().trim_matches('\'').to_string()).filter(|p| !p.is_empty()).collect());
        let ignore_case = matches!(args.get(3), Some(Expr::Literal(ScalarValue::Boolean(Some(true)), _)));
        let columns = self.infer(&location, &format_name, files, ignore_case).map_err(external)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("COLUMN_NAME", DataType::Utf8, false),
            Field::new("TYPE", DataType::Utf8, false),
            Field::new("NULLABLE", DataType::Boolean, false),
            Field::new("EXPRESSION", DataType::Utf8, false),
            Field::new("FILENAMES", DataType::Utf8, false),
            Field::new("ORDER_ID", DataType::Int64, false),
        ]));
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(columns.iter().map(|c| c.name.clone()))),
            Arc::new(StringArray::from_iter_values(columns.iter().map(|c| c.ty.clone()))),
            Arc::new(BooleanArray::from(vec![true; columns.len()])),
            Arc::new(StringArray::from_iter_values(columns.iter().map(|c| format!("$1:\"{}\"::{}", c.name.replace('"', "\"\""), c.ty)))),
            Arc::new(StringArray::from_iter_values(columns.iter().map(|c| c.files.join(",")))),
            Arc::new(Int64Array::from_iter_values(0..columns.len() as i64)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_csv_columns_merge_and_widen() {
        let json = FormatOptions::from_map(&[("TYPE".to_string(), "JSON".to_string())].into_iter().collect()).unwrap();
        let mut cols = Vec::new();
        infer_file(&mut cols, br#"{"a": 1, "b": "x"} {"a": 2.5, "c": null}"#.to_vec(), &json, "f1.json", false).unwrap();
        infer_file(&mut cols, br#"{"A": 3, "c": [1]}"#.to_vec(), &json, "f2.json", true).unwrap();
        let shown: Vec<(String, String, String)> = cols.iter().map(|c| (c.name.clone(), c.ty.clone(), c.files.join(","))).collect();
        assert_eq!(
            shown,
            [
                ("a".to_string(), "REAL".to_string(), "f1.json,f2.json".to_string()),
                ("b".to_string(), "TEXT".to_string(), "f1.json".to_string()),
                ("c".to_string(), "ARRAY".to_string(), "f1.json,f2.json".to_string()),
            ]
        );
        let csv = FormatOptions::from_map(&[("TYPE".to_string(), "CSV".to_string()), ("PARSE_HEADER".to_string(), "TRUE".to_string())].into_iter().collect()).unwrap();
        let mut cols = Vec::new();
        infer_file(&mut cols, b"id,name,score\n1,a,0.5\n2,b,1\n".to_vec(), &csv, "f.csv", false).unwrap();
        let types: Vec<&str> = cols.iter().map(|c| c.ty.as_str()).collect();
        assert_eq!(types, ["NUMBER(38, 0)", "TEXT", "REAL"]);
        let no_header = FormatOptions::from_map(&[("TYPE".to_string(), "CSV".to_string())].into_iter().collect()).unwrap();
        assert!(infer_file(&mut Vec::new(), b"1,2\n".to_vec(), &no_header, "f.csv", false).unwrap_err().contains("PARSE_HEADER"));
    }
}
