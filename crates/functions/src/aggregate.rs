//! Aggregate functions: ARRAY_AGG, ARRAY_UNIQUE_AGG, OBJECT_AGG, LISTAGG,
//! COUNT_IF, BOOLAND_AGG and BOOLOR_AGG.
//!
//! The collecting aggregates keep JSON values; their partial state is a
//! LargeUtf8 JSON array, so partial aggregation merges by concatenation. When
//! the call has an ORDER BY (WITHIN GROUP), each item carries a byte-comparable
//! sort key (Arrow row format, hex in the state) and the final result is sorted
//! by it, so ordering survives any partitioning.

use crate::convert::to_varchar_plain;
use crate::error::invalid_argument;
use crate::json::{to_text, val_to_json};
use crate::rows::Col;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Signature, Volatility,
};
use datafusion::physical_plan::expressions::Literal;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    ArrayAgg,
    ArrayUniqueAgg,
    ObjectAgg,
    ListAgg,
    CountIf,
    BoolAnd,
    BoolOr,
}

impl Kind {
    fn collects(self) -> bool {
        matches!(self, Kind::ArrayAgg | Kind::ArrayUniqueAgg | Kind::ObjectAgg | Kind::ListAgg)
    }
    fn arity(self) -> (usize, usize) {
        match self {
            Kind::ObjectAgg => (2, 2),
            Kind::ListAgg => (1, 2),
            _ => (1, 1),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Agg {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

impl Agg {
    fn udaf(name: &'static str, kind: Kind) -> AggregateUDF {
        AggregateUDF::new_from_impl(Agg {
            name,
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        })
    }
}

impl AggregateUDFImpl for Agg {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (lo, hi) = self.kind.arity();
        if arg_types.len() < lo || arg_types.len() > hi {
            return plan_err!(
                "Invalid number of arguments for function {}: got {}",
                self.name.to_uppercase(),
                arg_types.len()
            );
        }
        Ok(arg_types.to_vec())
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::ArrayAgg | Kind::ArrayUniqueAgg | Kind::ObjectAgg => DataType::LargeUtf8,
            Kind::ListAgg => DataType::Utf8,
            Kind::CountIf => DataType::Int64,
            Kind::BoolAnd | Kind::BoolOr => DataType::Boolean,
        })
    }
    fn is_nullable(&self) -> bool {
        !matches!(self.kind, Kind::CountIf)
    }
    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        match self.kind {
            Kind::CountIf => Ok(ScalarValue::Int64(Some(0))),
            _ => ScalarValue::try_from(data_type),
        }
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let (name, dt) = match self.kind {
            Kind::CountIf => ("count", DataType::Int64),
            Kind::BoolAnd | Kind::BoolOr => ("flag", DataType::Boolean),
            _ => ("items", DataType::LargeUtf8),
        };
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, name), dt, true))])
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        if self.kind.collects() {
            AggregateOrderSensitivity::Beneficial
        } else {
            AggregateOrderSensitivity::Insensitive
        }
    }
    fn with_beneficial_ordering(
        self: Arc<Self>,
        _beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(Some(self))
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let n_args = args.exprs.len();
        let sep = if self.kind == Kind::ListAgg && n_args > 1 {
            match args.exprs[1].downcast_ref::<Literal>() {
                Some(l) => match l.value() {
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::Utf8View(Some(s))
                    | ScalarValue::LargeUtf8(Some(s)) => s.clone(),
                    v if v.is_null() => String::new(),
                    v => v.to_string(),
                },
                None => return plan_err!("LISTAGG separator must be a constant"),
            }
        } else {
            String::new()
        };
        let order = if self.kind.collects() && !args.order_bys.is_empty() {
            let fields = args
                .order_bys
                .iter()
                .map(|e| Ok(SortField::new_with_options(e.expr.data_type(args.schema)?, e.options)))
                .collect::<Result<Vec<_>>>()?;
            Some(RowConverter::new(fields)?)
        } else {
            None
        };
        Ok(Box::new(Acc {
            kind: self.kind,
            distinct: args.is_distinct || self.kind == Kind::ArrayUniqueAgg,
            n_args,
            sep,
            order,
            items: vec![],
            count: 0,
            flag: None,
        }))
    }
}

#[derive(Debug)]
struct Acc {
    kind: Kind,
    distinct: bool,
    n_args: usize,
    sep: String,
    order: Option<RowConverter>,
    /// (sort key, item); OBJECT_AGG items are `[key, value]` pairs.
    items: Vec<(Vec<u8>, Value)>,
    count: i64,
    flag: Option<bool>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

fn truthy(v: crate::rows::Val) -> Result<Option<bool>> {
    use crate::rows::Val;
    Ok(match v {
        Val::Null => None,
        Val::Bool(b) => Some(b),
        Val::Str(s) => Some(crate::number::parse_bool_text(s)?),
        other => match other.as_f64() {
            Some(f) => Some(f != 0.0),
            None => return Err(invalid_argument(format!("Boolean value {other:?} is not recognized"))),
        },
    })
}

impl Acc {
    /// The collected items in final order (the state stays intact, as window
    /// evaluation may keep adding rows after an evaluate).
    fn finish_items(&self) -> Vec<Value> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        if self.order.is_some() {
            order.sort_by(|a, b| self.items[*a].0.cmp(&self.items[*b].0));
        }
        let mut seen = HashSet::new();
        let mut out: Vec<Value> = Vec::with_capacity(order.len());
        for v in order.into_iter().map(|i| self.items[i].1.clone()) {
            if self.distinct && !seen.insert(to_text(v.clone())) {
                continue;
            }
            out.push(v);
        }
        out
    }
}

impl Accumulator for Acc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let cols = values
            .iter()
            .take(self.n_args)
            .map(|a| Col::new(&ColumnarValue::Array(Arc::clone(a))))
            .collect::<Result<Vec<_>>>()?;
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        let keys = match &self.order {
            Some(conv) => Some(conv.convert_columns(&values[self.n_args..])?),
            None => None,
        };
        for r in 0..rows {
            let v = cols[0].get(r);
            match self.kind {
                Kind::CountIf => self.count += (truthy(v)? == Some(true)) as i64,
                Kind::BoolAnd | Kind::BoolOr => {
                    if let Some(b) = truthy(v)? {
                        let and = self.kind == Kind::BoolAnd;
                        self.flag = Some(match self.flag {
                            None => b,
                            Some(f) if and => f && b,
                            Some(f) => f || b,
                        });
                    }
                }
                _ => {
                    let item = match self.kind {
                        Kind::ObjectAgg => {
                            let val = cols[1].get(r);
                            let key = match to_varchar_plain(v) {
                                Some(k) if !val.is_null() => k,
                                _ => continue,
                            };
                            Value::Array(vec![Value::String(key), val_to_json(val)])
                        }
                        Kind::ListAgg => match to_varchar_plain(v) {
                            Some(s) => Value::String(s),
                            None => continue,
                        },
                        _ if v.is_null() => continue,
                        _ => val_to_json(v),
                    };
                    let key = keys.as_ref().map(|k| k.row(r).as_ref().to_vec()).unwrap_or_default();
                    self.items.push((key, item));
                }
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![match self.kind {
            Kind::CountIf => ScalarValue::Int64(Some(self.count)),
            Kind::BoolAnd | Kind::BoolOr => ScalarValue::Boolean(self.flag),
            _ => {
                let ordered = self.order.is_some();
                let arr: Vec<Value> = self
                    .items
                    .iter()
                    .map(|(k, v)| {
                        if ordered {
                            Value::Array(vec![Value::String(hex(k)), v.clone()])
                        } else {
                            v.clone()
                        }
                    })
                    .collect();
                ScalarValue::LargeUtf8(Some(Value::Array(arr).to_string()))
            }
        }])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let col = Col::new(&ColumnarValue::Array(Arc::clone(&states[0])))?;
        for r in 0..states[0].len() {
            match (self.kind, col.get(r)) {
                (_, crate::rows::Val::Null) => {}
                (Kind::CountIf, crate::rows::Val::Int(c)) => self.count += c,
                (Kind::BoolAnd | Kind::BoolOr, crate::rows::Val::Bool(b)) => {
                    let and = self.kind == Kind::BoolAnd;
                    self.flag = Some(match self.flag {
                        None => b,
                        Some(f) if and => f && b,
                        Some(f) => f || b,
                    });
                }
                (_, crate::rows::Val::Json(s)) => {
                    let Ok(Value::Array(arr)) = serde_json::from_str::<Value>(s) else { continue };
                    for item in arr {
                        if self.order.is_some() {
                            if let Value::Array(mut pair) = item {
                                if pair.len() == 2 {
                                    let v = pair.pop().unwrap_or(Value::Null);
                                    let k = pair.pop().and_then(|k| k.as_str().map(unhex)).unwrap_or_default();
                                    self.items.push((k, v));
                                }
                            }
                        } else {
                            self.items.push((vec![], item));
                        }
                    }
                }
                (_, other) => return plan_err!("unexpected aggregate state {other:?}"),
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(match self.kind {
            Kind::CountIf => ScalarValue::Int64(Some(self.count)),
            Kind::BoolAnd | Kind::BoolOr => ScalarValue::Boolean(self.flag),
            Kind::ArrayAgg | Kind::ArrayUniqueAgg => {
                ScalarValue::LargeUtf8(Some(to_text(Value::Array(self.finish_items()))))
            }
            Kind::ObjectAgg => {
                let mut m = Map::new();
                for item in self.finish_items() {
                    if let Value::Array(mut pair) = item {
                        let v = pair.pop().unwrap_or(Value::Null);
                        if let Some(Value::String(k)) = pair.pop() {
                            m.insert(k, v);
                        }
                    }
                }
                ScalarValue::LargeUtf8(Some(to_text(Value::Object(m))))
            }
            Kind::ListAgg => {
                let parts: Vec<String> = self
                    .finish_items()
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect();
                ScalarValue::Utf8(Some(parts.join(&self.sep)))
            }
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.items.iter().map(|(k, v)| k.len() + 48 + approx_size(v)).sum::<usize>()
    }
}

fn approx_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 24,
        Value::Array(a) => a.iter().map(approx_size).sum::<usize>() + 24,
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + approx_size(v) + 32).sum::<usize>() + 24,
        _ => 16,
    }
}

pub(crate) fn udafs() -> Vec<AggregateUDF> {
    vec![
        Agg::udaf("array_agg", Kind::ArrayAgg),
        Agg::udaf("array_unique_agg", Kind::ArrayUniqueAgg),
        Agg::udaf("object_agg", Kind::ObjectAgg),
        Agg::udaf("listagg", Kind::ListAgg),
        Agg::udaf("count_if", Kind::CountIf),
        Agg::udaf("booland_agg", Kind::BoolAnd),
        Agg::udaf("boolor_agg", Kind::BoolOr),
    ]
}
