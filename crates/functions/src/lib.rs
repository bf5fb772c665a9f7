//! Snowflake's SQL functions as DataFusion UDFs.
//!
//! [`register_all`] installs every function into a `SessionContext`, replacing
//! DataFusion built-ins of the same name whose semantics differ from
//! Snowflake's. Type conventions: VARIANT / OBJECT / ARRAY values are LargeUtf8
//! compact JSON; NUMBER(p,0) is Int64, NUMBER(p,s) Decimal128; TIMESTAMP_NTZ is
//! Timestamp(ns), TIMESTAMP_LTZ/TZ Timestamp(ns, "+00:00"). User-caused errors
//! are [`SfFunctionError`]s carrying Snowflake's error codes.

mod aggregate;
mod arrays;
mod conditional;
mod convert;
mod datetime;
mod error;
mod generator;
mod json;
mod number;
mod random;
mod regex;
mod rows;
mod strings;
mod temporal;
mod values;
mod variant;

#[cfg(test)]
mod tests;

pub use error::{SfFunctionError, find_sf_error, sf_error};
pub use datetime::ExtractPlanner;
pub use generator::{GeneratorFunction, GeneratorTable, SEQ_COLUMN};

use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Registers every Snowflake function (scalar, aggregate and table) in `ctx`.
///
/// `EXTRACT(part FROM x)` is planned by DataFusion's built-in expression
/// planner before any registered one; a session that wants Snowflake's
/// EXTRACT should put [`ExtractPlanner`] first in its expression planners
/// (see [`expr_planners`]).
pub fn register_all(ctx: &SessionContext) -> Result<()> {
    let scalars = [
        conditional::udfs(),
        number::udfs(),
        convert::udfs(),
        datetime::udfs(),
        variant::udfs(),
        arrays::udfs(),
        regex::udfs(),
        strings::udfs(),
        random::udfs(),
    ];
    for udf in scalars.into_iter().flatten() {
        ctx.register_udf(udf);
    }
    for udaf in aggregate::udafs() {
        ctx.register_udaf(udaf);
    }
    ctx.register_udtf("generator", Arc::new(GeneratorFunction));
    Ok(())
}

/// The expression planners this crate provides, to be placed before
/// DataFusion's defaults when building a `SessionState`.
pub fn expr_planners() -> Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> {
    vec![Arc::new(ExtractPlanner)]
}
