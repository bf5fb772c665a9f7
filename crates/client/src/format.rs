//! Rendering query results as text: a boxed ASCII table in the style of
//! snowsql (with a `<n> Row(s) produced. Time Elapsed: …` footer), RFC 4180
//! CSV, or one line of JSON (an array of objects) per statement.

use serde_json::{Map, Value};

use crate::wire::QueryResult;

/// The `--format` choices.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Csv,
    Json,
}

/// Renders a result in the chosen format; the text ends with a newline.
pub fn render(result: &QueryResult, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => render_table(result),
        OutputFormat::Csv => render_csv(result),
        OutputFormat::Json => render_json(result),
    }
}

/// Display cells of a result (NULL as `None`).
fn display_rows(result: &QueryResult) -> Vec<Vec<Option<String>>> {
    result
        .rows
        .iter()
        .map(|row| {
            result
                .columns
                .iter()
                .enumerate()
                .map(|(i, col)| col.display_opt(row.get(i).and_then(|c| c.as_deref())))
                .collect()
        })
        .collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// A table cell split into lines (tabs expanded, `\r` dropped).
fn cell_lines(s: &str) -> Vec<String> {
    s.replace("\r\n", "\n").replace('\t', "    ").split('\n').map(|l| l.replace('\r', "")).collect()
}

/// The snowsql-like boxed table followed by the row-count footer.
pub fn render_table(result: &QueryResult) -> String {
    let footer = format!(
        "{} Row(s) produced. Time Elapsed: {:.3}s\n",
        result.rows.len(),
        result.elapsed.as_secs_f64()
    );
    if result.columns.is_empty() {
        return footer;
    }
    let headers: Vec<Vec<String>> = result.columns.iter().map(|c| cell_lines(&c.name)).collect();
    let cells: Vec<Vec<Vec<String>>> = display_rows(result)
        .into_iter()
        .map(|row| row.into_iter().map(|c| cell_lines(c.as_deref().unwrap_or("NULL"))).collect())
        .collect();
    let mut widths: Vec<usize> =
        headers.iter().map(|h| h.iter().map(|l| width(l)).max().unwrap_or(0)).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            let w = c.iter().map(|l| width(l)).max().unwrap_or(0);
            widths[i] = widths[i].max(w);
        }
    }
    let border = {
        let mut s = String::from("+");
        for w in &widths {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let right: Vec<bool> = result.columns.iter().map(|c| c.ty.is_numeric()).collect();
    let mut out = String::new();
    out.push_str(&border);
    push_row(&mut out, &headers, &widths, &vec![false; widths.len()]);
    out.push('|');
    for (i, w) in widths.iter().enumerate() {
        out.push_str(&"-".repeat(w + 2));
        out.push(if i + 1 == widths.len() { '|' } else { '+' });
    }
    out.push('\n');
    for row in &cells {
        push_row(&mut out, row, &widths, &right);
    }
    out.push_str(&border);
    out.push_str(&footer);
    out
}

fn push_row(out: &mut String, cells: &[Vec<String>], widths: &[usize], right: &[bool]) {
    let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    for line in 0..height {
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let text = cells.get(i).and_then(|c| c.get(line)).map(String::as_str).unwrap_or("");
            let pad = " ".repeat(w - width(text));
            if right[i] {
                out.push_str(&format!(" {pad}{text} |"));
            } else {
                out.push_str(&format!(" {text}{pad} |"));
            }
        }
        out.push('\n');
    }
}

/// Quotes a CSV field when it contains a comma, quote, CR or LF (RFC 4180),
/// doubling embedded quotes. An empty string is quoted so it differs from
/// NULL.
pub fn csv_field(s: &str) -> String {
    if s.is_empty() {
        "\"\"".to_string()
    } else if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Header line then one line per row; NULL is an empty field.
pub fn render_csv(result: &QueryResult) -> String {
    let mut out = String::new();
    let header: Vec<String> = result.columns.iter().map(|c| csv_field(&c.name)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in display_rows(result) {
        let fields: Vec<String> = row.iter().map(|c| c.as_deref().map(csv_field).unwrap_or_default()).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The result as a JSON array of objects, on one line.
pub fn render_json(result: &QueryResult) -> String {
    let rows: Vec<Value> = result
        .rows
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            for (i, col) in result.columns.iter().enumerate() {
                obj.insert(col.name.clone(), col.json(row.get(i).and_then(|c| c.as_deref())));
            }
            Value::Object(obj)
        })
        .collect();
    let mut s = Value::Array(rows).to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{ColType, Column};
    use std::time::Duration;

    fn sample() -> QueryResult {
        QueryResult {
            query_id: Some("q".into()),
            columns: vec![
                Column::new("ID", ColType::Fixed),
                Column::new("NAME", ColType::Text),
                Column::new("OK", ColType::Boolean),
                Column::new("D", ColType::Date),
            ],
            rows: vec![
                vec![Some("1".into()), Some("alice".into()), Some("1".into()), Some("19723".into())],
                vec![Some("22".into()), None, Some("0".into()), None],
            ],
            elapsed: Duration::from_millis(1234),
        }
    }

    #[test]
    fn table() {
        let expected = "\
+----+-------+-------+------------+
| ID | NAME  | OK    | D          |
|----+-------+-------+------------|
|  1 | alice | TRUE  | 2024-01-01 |
| 22 | NULL  | FALSE | NULL       |
+----+-------+-------+------------+
2 Row(s) produced. Time Elapsed: 1.234s
";
        assert_eq!(render_table(&sample()), expected);
    }

    #[test]
    fn table_multiline_and_empty() {
        let r = QueryResult {
            columns: vec![Column::new("T", ColType::Text)],
            rows: vec![vec![Some("a\nbcd".into())]],
            ..Default::default()
        };
        assert_eq!(
            render_table(&r),
            "+-----+\n| T   |\n|-----|\n| a   |\n| bcd |\n+-----+\n1 Row(s) produced. Time Elapsed: 0.000s\n"
        );
        let r = QueryResult { columns: vec![Column::new("X", ColType::Text)], ..Default::default() };
        assert_eq!(render_table(&r), "+---+\n| X |\n|---|\n+---+\n0 Row(s) produced. Time Elapsed: 0.000s\n");
        assert_eq!(render_table(&QueryResult::default()), "0 Row(s) produced. Time Elapsed: 0.000s\n");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field(""), "\"\"");
        assert_eq!(csv_field(" spaced "), " spaced ");
    }

    #[test]
    fn csv() {
        assert_eq!(render_csv(&sample()), "ID,NAME,OK,D\n1,alice,TRUE,2024-01-01\n22,,FALSE,\n");
    }

    #[test]
    fn json() {
        assert_eq!(
            render_json(&sample()),
            "[{\"ID\":1,\"NAME\":\"alice\",\"OK\":\"TRUE\",\"D\":\"2024-01-01\"},\
             {\"ID\":22,\"NAME\":null,\"OK\":\"FALSE\",\"D\":null}]\n"
        );
        assert_eq!(render_json(&QueryResult::default()), "[]\n");
    }
}
