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
use crate::json::{text_of, val_to_json, write_canonical};
use crate::rows::{Col, Val};
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
use std::collections::{HashSet, VecDeque};
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
            items: VecDeque::new(),
            count: 0,
            n_true: 0,
            n_false: 0,
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
    /// (sort key, item) in arrival order; OBJECT_AGG items are `[key, value]` pairs.
    items: VecDeque<(Vec<u8>, Value)>,
    /// COUNT_IF.
    count: i64,
    /// BOOLAND_AGG / BOOLOR_AGG: counts of true and false inputs.
    n_true: i64,
    n_false: i64,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

fn truthy(v: Val) -> Result<Option<bool>> {
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
    /// The collected items in final order, borrowed (the state stays intact,
    /// as window evaluation may keep adding rows after an evaluate).
    fn final_items(&self) -> Vec<&Value> {
        let mut idx: Vec<usize> = (0..self.items.len()).collect();
        if self.order.is_some() {
            idx.sort_by(|a, b| self.items[*a].0.cmp(&self.items[*b].0));
        }
        let mut seen = HashSet::new();
        idx.into_iter()
            .map(|i| &self.items[i].1)
            .filter(|v| !self.distinct || seen.insert(text_of(v)))
            .collect()
    }

    fn bool_result(&self) -> Option<bool> {
        if self.n_true + self.n_false == 0 {
            None
        } else if self.kind == Kind::BoolAnd {
            Some(self.n_false == 0)
        } else {
            Some(self.n_true > 0)
        }
    }

    /// The item a row contributes, if any.
    fn item(&self, cols: &[Col], r: usize) -> Option<Value> {
        let v = cols[0].get(r);
        match self.kind {
            Kind::ObjectAgg => {
                let val = cols[1].get(r);
                match to_varchar_plain(v) {
                    Some(k) if !val.is_null() => {
                        Some(Value::Array(vec![Value::String(k), val_to_json(val)]))
                    }
                    _ => None,
                }
            }
            Kind::ListAgg => to_varchar_plain(v).map(Value::String),
            _ if v.is_null() => None,
            _ => Some(val_to_json(v)),
        }
    }

    fn columns(&self, values: &[ArrayRef]) -> Result<Vec<Col>> {
        values
            .iter()
            .take(self.n_args)
            .map(|a| Col::new(&ColumnarValue::Array(Arc::clone(a))))
            .collect()
    }
}

impl Accumulator for Acc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let cols = self.columns(values)?;
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        let keys = match &self.order {
            Some(conv) => Some(conv.convert_columns(&values[self.n_args..])?),
            None => None,
        };
        for r in 0..rows {
            match self.kind {
                Kind::CountIf => self.count += (truthy(cols[0].get(r))? == Some(true)) as i64,
                Kind::BoolAnd | Kind::BoolOr => match truthy(cols[0].get(r))? {
                    Some(true) => self.n_true += 1,
                    Some(false) => self.n_false += 1,
                    None => {}
                },
                _ => {
                    if let Some(item) = self.item(&cols, r) {
                        let key = keys.as_ref().map(|k| k.row(r).as_ref().to_vec()).unwrap_or_default();
                        self.items.push_back((key, item));
                    }
                }
            }
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    /// Sliding windows retract the oldest rows first, in arrival order.
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let cols = self.columns(values)?;
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        for r in 0..rows {
            match self.kind {
                Kind::CountIf => self.count -= (truthy(cols[0].get(r))? == Some(true)) as i64,
                Kind::BoolAnd | Kind::BoolOr => match truthy(cols[0].get(r))? {
                    Some(true) => self.n_true -= 1,
                    Some(false) => self.n_false -= 1,
                    None => {}
                },
                _ => {
                    if self.item(&cols, r).is_some() {
                        self.items.pop_front();
                    }
                }
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![match self.kind {
            Kind::CountIf => ScalarValue::Int64(Some(self.count)),
            Kind::BoolAnd | Kind::BoolOr => ScalarValue::Boolean(self.bool_result()),
            _ => {
                let mut out = String::from("[");
                for (i, (k, v)) in self.items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if self.order.is_some() {
                        out.push_str(&format!("[\"{}\",", hex(k)));
                        write_canonical(v, &mut out);
                        out.push(']');
                    } else {
                        write_canonical(v, &mut out);
                    }
                }
                out.push(']');
                ScalarValue::LargeUtf8(Some(out))
            }
        }])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let col = Col::new(&ColumnarValue::Array(Arc::clone(&states[0])))?;
        for r in 0..states[0].len() {
            match (self.kind, col.get(r)) {
                (_, Val::Null) => {}
                (Kind::CountIf, Val::Int(c)) => self.count += c,
                // A partial result: for AND, false means "some false"; for OR,
                // true means "some true".
                (Kind::BoolAnd | Kind::BoolOr, Val::Bool(b)) => {
                    if b { self.n_true += 1 } else { self.n_false += 1 }
                }
                (_, Val::Json(s)) => {
                    let Ok(Value::Array(arr)) = serde_json::from_str::<Value>(s) else { continue };
                    for item in arr {
                        if self.order.is_none() {
                            self.items.push_back((vec![], item));
                        } else if let Value::Array(mut pair) = item
                            && pair.len() == 2
                        {
                            let v = pair.pop().unwrap_or(Value::Null);
                            let k = pair.pop().and_then(|k| k.as_str().map(unhex)).unwrap_or_default();
                            self.items.push_back((k, v));
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
            Kind::BoolAnd | Kind::BoolOr => ScalarValue::Boolean(self.bool_result()),
            Kind::ArrayAgg | Kind::ArrayUniqueAgg => {
                let mut out = String::from("[");
                for (i, v) in self.final_items().into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_canonical(v, &mut out);
                }
                out.push(']');
                ScalarValue::LargeUtf8(Some(out))
            }
            Kind::ObjectAgg => {
                let mut m = Map::new();
                for item in self.final_items() {
                    if let Value::Array(pair) = item
                        && let [Value::String(k), v] = pair.as_slice()
                    {
                        m.insert(k.clone(), v.clone());
                    }
                }
                ScalarValue::LargeUtf8(Some(text_of(&Value::Object(m))))
            }
            Kind::ListAgg => {
                let parts: Vec<String> = self
                    .final_items()
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
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
