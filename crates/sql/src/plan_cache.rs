//! A session's cache of physical plans for repeated queries.
//!
//! Planning (logical, optimizer, physical) costs more than executing a short query. A plan is reused
//! when the statement text, everything the rewrite step folds into it (database, schema, user, role,
//! warehouse, session parameters) and the catalog's `ddl_version` are the same. Table scans bind to
//! data only when executed ([`crate::provider::FloeScanExec`]), so a cached plan reads the newest
//! snapshot. Plans whose meaning depends on the moment they were planned (stable functions such as
//! CURRENT_TIMESTAMP, folded by the optimizer) or that scan anything but floe tables are not cached.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::sqlparser::ast::{self, Statement};

use crate::provider::FloeTable;
use crate::session::Session;

/// Cached plans per session.
const CAPACITY: usize = 64;

/// A planned query ready to execute again.
#[derive(Clone)]
pub struct CachedPlan {
    /// The physical plan (reset before each execution).
    pub plan: Arc<dyn ExecutionPlan>,
    /// Its output schema.
    pub schema: SchemaRef,
    /// The values its parameter functions return.
    pub params: ParamCell,
}

/// The session's plans by key.
#[derive(Default)]
pub struct PlanCache {
    entries: HashMap<String, (CachedPlan, u64)>,
    tick: u64,
    /// Hits since the session started (tests and debugging).
    pub hits: u64,
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlanCache({} plans, {} hits)", self.entries.len(), self.hits)
    }
}

impl PlanCache {
    /// The cached plan for `key`, if any.
    pub fn get(&mut self, key: &str) -> Option<CachedPlan> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(key)?;
        entry.1 = tick;
        self.hits += 1;
        Some(entry.0.clone())
    }

    /// Stores a plan, evicting the least recently used one past capacity.
    pub fn put(&mut self, key: String, plan: CachedPlan) {
        self.tick += 1;
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(&key) {
            if let Some(victim) = self.entries.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone()) {
                self.entries.remove(&victim);
            }
        }
        self.entries.insert(key, (plan, self.tick));
    }

    /// Number of cached plans.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no plan is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The cache key of a query text in a session against a catalog shape.
pub fn key(session: &Session, text: &str, ddl_version: u64) -> String {
    format!(
        "{ddl_version}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{}",
        session.database, session.schema, session.user, session.role, session.warehouse, session.params, text
    )
}

/// True when a logical plan (before optimisation) may be cached: it scans only floe tables and calls no
/// stable function (whose value the optimizer fixes at planning time).
pub fn cacheable(plan: &LogicalPlan) -> bool {
    let mut ok = true;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let floe = source_as_provider(&scan.source).is_ok_and(|p| p.downcast_ref::<FloeTable>().is_some());
            if !floe {
                ok = false;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e {
                    if f.func.signature().volatility == Volatility::Stable {
                        ok = false;
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(if ok { TreeNodeRecursion::Continue } else { TreeNodeRecursion::Stop })
    });
    ok
}

/// Values of a query's parameterised literals, shared between a cached plan's parameter functions and
/// the statement that executes it. A session runs one statement at a time, so one slot per plan.
pub type ParamCell = Arc<parking_lot::Mutex<Vec<ScalarValue>>>;

/// `__floe_param_<type>(slot)`: the value of a literal that `parameterize` lifted out of a WHERE or
/// HAVING comparison. Volatile so the optimizer neither folds it into the plan nor evaluates it early;
/// it evaluates to one scalar per batch.
#[derive(Debug)]
pub struct ParamUdf {
    name: &'static str,
    data_type: DataType,
    signature: Signature,
    cell: ParamCell,
}

impl PartialEq for ParamUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.cell, &other.cell)
    }
}
impl Eq for ParamUdf {}
impl std::hash::Hash for ParamUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// The parameter functions over one cell (one per literal type floe lifts).
pub fn param_udfs(cell: &ParamCell) -> Vec<ScalarUDF> {
    [(PARAM_I64, DataType::Int64), (PARAM_UTF8, DataType::Utf8)]
        .into_iter()
        .map(|(name, data_type)| {
            ScalarUDF::new_from_impl(ParamUdf {
                name,
                data_type,
                signature: Signature::exact(vec![DataType::Int64], Volatility::Volatile),
                cell: cell.clone(),
            })
        })
        .collect()
}

const PARAM_I64: &str = "__floe_param_i64";
const PARAM_UTF8: &str = "__floe_param_utf8";

impl ScalarUDFImpl for ParamUdf {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.data_type.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let slot = match args.args.first() {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(i)))) => *i as usize,
            _ => return Err(DataFusionError::Internal(format!("{} needs a literal slot", self.name))),
        };
        let value = self.cell.lock().get(slot).cloned();
        match value {
            Some(v) if v.data_type() == self.data_type => Ok(ColumnarValue::Scalar(v)),
            _ => Err(DataFusionError::Internal(format!("{} slot {slot} unset or mistyped", self.name))),
        }
    }
}

/// Lifts the integer and string literals compared with non-literal expressions in WHERE and HAVING
/// clauses into parameter calls, so statements that differ only in those values share one plan.
/// Returns the lifted values in slot order. Other literals (projections, LIMIT, function arguments,
/// LIKE patterns) stay in the text: the planner may depend on their values.
pub fn parameterize(statement: &mut Statement) -> Vec<ScalarValue> {
    let mut values = Vec::new();
    let _ = ast::visit_statements_mut(statement, |s| {
        if let Statement::Query(q) = s {
            lift_query(q, &mut values);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    values
}

fn lift_query(query: &mut ast::Query, values: &mut Vec<ScalarValue>) {
    if let Some(with) = &mut query.with {
        for cte in &mut with.cte_tables {
            lift_query(&mut cte.query, values);
        }
    }
    lift_set_expr(&mut query.body, values);
}

fn lift_set_expr(body: &mut ast::SetExpr, values: &mut Vec<ScalarValue>) {
    match body {
        ast::SetExpr::Select(select) => {
            for table in &mut select.from {
                lift_factor(&mut table.relation, values);
                for join in &mut table.joins {
                    lift_factor(&mut join.relation, values);
                }
            }
            if let Some(selection) = &mut select.selection {
                lift_predicate(selection, values);
            }
            if let Some(having) = &mut select.having {
                lift_predicate(having, values);
            }
        }
        ast::SetExpr::Query(q) => lift_query(q, values),
        ast::SetExpr::SetOperation { left, right, .. } => {
            lift_set_expr(left, values);
            lift_set_expr(right, values);
        }
        _ => {}
    }
}

fn lift_factor(factor: &mut ast::TableFactor, values: &mut Vec<ScalarValue>) {
    if let ast::TableFactor::Derived { subquery, .. } = factor {
        lift_query(subquery, values);
    }
}

fn lift_predicate(expr: &mut ast::Expr, values: &mut Vec<ScalarValue>) {
    use ast::BinaryOperator as B;
    match expr {
        ast::Expr::BinaryOp { left, op: B::And | B::Or, right } => {
            lift_predicate(left, values);
            lift_predicate(right, values);
        }
        ast::Expr::Nested(inner) | ast::Expr::UnaryOp { op: ast::UnaryOperator::Not, expr: inner } => lift_predicate(inner, values),
        ast::Expr::BinaryOp { left, op: B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq, right } => {
            if !is_literal(left) {
                lift_literal(right, values);
            }
            if !is_literal(right) {
                lift_literal(left, values);
            }
        }
        ast::Expr::Between { expr: subject, low, high, .. } if !is_literal(subject) => {
            lift_literal(low, values);
            lift_literal(high, values);
        }
        ast::Expr::InSubquery { subquery, .. } | ast::Expr::Exists { subquery, .. } => lift_query(subquery, values),
        _ => {}
    }
}

fn is_literal(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::Value(_) => true,
        ast::Expr::UnaryOp { expr, .. } | ast::Expr::Nested(expr) => is_literal(expr),
        _ => false,
    }
}

fn lift_literal(expr: &mut ast::Expr, values: &mut Vec<ScalarValue>) {
    let (negative, raw) = match &*expr {
        ast::Expr::Value(v) => (false, &v.value),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr: inner } => match inner.as_ref() {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => (true, &v.value),
            _ => return,
        },
        _ => return,
    };
    let (name, value) = match raw {
        ast::Value::Number(n, false) if !n.contains(['.', 'e', 'E']) => {
            let text = if negative { format!("-{n}") } else { n.clone() };
            match text.parse::<i64>() {
                Ok(i) => (PARAM_I64, ScalarValue::Int64(Some(i))),
                Err(_) => return,
            }
        }
        ast::Value::SingleQuotedString(s) => (PARAM_UTF8, ScalarValue::Utf8(Some(s.clone()))),
        _ => return,
    };
    let slot = values.len();
    values.push(value);
    *expr = ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::value(ast::Value::Number(slot.to_string(), false))))],
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    });
}
