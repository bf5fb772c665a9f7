//! Helpers for the SQL-level tests: run a query and render cells as text.

use crate::register_all;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

pub(crate) fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    register_all(&ctx).expect("register");
    ctx
}

/// Runs `sql` and returns every cell rendered as text ("NULL" for nulls).
pub(crate) async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<String>>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = vec![];
    for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            out.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(out)
}

/// The single cell of a one-row, one-column query.
pub(crate) async fn one(sql: &str) -> String {
    let r = rows(&ctx(), sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(r.len(), 1, "{sql}");
    r[0][0].clone()
}

/// The error of a failing query.
pub(crate) async fn err(sql: &str) -> datafusion::error::DataFusionError {
    match rows(&ctx(), sql).await {
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
        Err(e) => e,
    }
}

/// The Snowflake error code of a failing query.
pub(crate) async fn err_code(sql: &str) -> &'static str {
    let e = err(sql).await;
    crate::find_sf_error(&e).unwrap_or_else(|| panic!("{sql}: not a Snowflake error: {e}")).code
}

/// The data type of the single result column.
pub(crate) async fn type_of(sql: &str) -> String {
    let df = ctx().sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    df.schema().field(0).data_type().to_string()
}
