//! Calls of external, service and JavaScript functions from queries.
//!
//! `bind` runs in `Engine::prepare_statement` after table resolution: every function call whose name
//! resolves to a stored FUNCTION (current schema, `schema.f` or `db.schema.f`) is renamed to a UDF of the
//! statement (`__floe_remote_<n>`), an `AsyncScalarUDF` holding the function's overloads, the session's
//! context headers and the statement's query id and cancel token. DataFusion plans it into an
//! AsyncFuncExec (projections, filters, aggregate arguments); `lift` moves calls DataFusion cannot place
//! (ORDER BY, GROUP BY keys, join conditions, window arguments) into a projection below.
//!
//! At the first batch the UDF resolves where to send: the external function's URL (mapped by
//! `FLOE_EXTERNAL_URL_MAP`) after checking its integration, or the READY instances of the service
//! (waking a suspended service with AUTO_RESUME and waiting for it). Arrow values become the request's
//! JSON (numbers, booleans, strings, VARIANT as JSON, dates/times/timestamps/binary as text per the
//! default output formats), and the response's JSON becomes the return type. A JavaScript function
//! runs in floe-js on a blocking thread instead (arguments as Snowflake maps them: `encode_js`), and
//! its results are decoded the same way; an external function's translators are JavaScript functions
//! too (`translator`), run by floe-remote around each batch.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int64Builder, LargeStringBuilder, StringBuilder, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility};
use datafusion::sql::sqlparser::ast::{self, Expr, Ident, ObjectName, ObjectNamePart, Statement};
use model::{SfError, display_ident};
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{ApiIntegration, FUNCTION, FunctionRecord, INTEGRATION, Target};
use crate::access::{Access, Securable};
use crate::engine::Engine;
use crate::objects::{get, schema_scope};
use crate::session::Session;
use crate::types::SfType;

/// Name prefix of the statement's remote UDFs (plans holding them are never cached).
pub const PREFIX: &str = "__floe_remote_";

/// Engine-wide settings of remote calls.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// `FLOE_EXTERNAL_URL_MAP`: URL prefixes replaced before calling (`https://x.amazonaws.com/=http://127.0.0.1:9000/`).
    pub url_map: Vec<(String, String)>,
    /// External functions' bound per batch (Snowflake: 10 minutes). `FLOE_EXTERNAL_FUNCTION_TIMEOUT_SECS`.
    pub external_timeout: Duration,
    /// Rows per batch when MAX_BATCH_ROWS is not set.
    pub default_batch_rows: usize,
    /// The protocol's timing.
    pub settings: remote::Settings,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig { url_map: Vec::new(), external_timeout: Duration::from_secs(600), default_batch_rows: 1000, settings: remote::Settings::default() }
    }
}

impl RemoteConfig {
    /// Parses `FLOE_EXTERNAL_URL_MAP`: `from=to` pairs separated by commas or whitespace.
    pub fn parse_url_map(text: &str) -> Result<Vec<(String, String)>, String> {
        text.split([',', ' ', '\n'])
            .filter(|p| !p.trim().is_empty())
            .map(|pair| match pair.trim().split_once('=') {
                Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok((from.to_string(), to.to_string())),
                _ => Err(format!("FLOE_EXTERNAL_URL_MAP: '{pair}' is not 'prefix=replacement'")),
            })
            .collect()
    }

    /// The URL floe calls for an external function's URL.
    pub fn map_url(&self, url: &str) -> String {
        let best = self.url_map.iter().filter(|(from, _)| url.starts_with(from.as_str())).max_by_key(|(from, _)| from.len());
        match best {
            Some((from, to)) => format!("{to}{}", &url[from.len()..]),
            None => url.to_string(),
        }
    }
}

/// Finds the statement's calls of stored functions and renames them; returns the UDFs to register.
pub(crate) fn bind(engine: &Engine, session: &Session, statement: &mut Statement, catalog: &store::Catalog) -> Result<Vec<ScalarUDF>, SfError> {
    if catalog.objects_of(FUNCTION).next().is_none() {
        return Ok(Vec::new());
    }
    let mut udfs: Vec<ScalarUDF> = Vec::new();
    let mut names: HashMap<(String, String, String), String> = HashMap::new();
    let mut failure = None;
    let _ = ast::visit_expressions_mut(statement, |expr| {
        if let Expr::Function(f) = expr {
            let parts: Option<Vec<String>> = f.name.0.iter().map(|p| if let ObjectNamePart::Identifier(i) = p { Some(i.value.clone()) } else { None }).collect();
            let Some(parts) = parts else { return std::ops::ControlFlow::Continue(()) };
            let place = match parts.as_slice() {
                [n] => session.database.clone().zip(session.schema.clone()).map(|(d, s)| (d, s, n.clone())),
                [s, n] => session.database.clone().map(|d| (d, s.clone(), n.clone())),
                [d, s, n] => Some((d.clone(), s.clone(), n.clone())),
                _ => None,
            };
            let Some((db, schema, name)) = place else { return std::ops::ControlFlow::Continue(()) };
            if let Some(udf) = names.get(&(db.clone(), schema.clone(), name.clone())) {
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(udf.clone()))]);
                return std::ops::ControlFlow::Continue(());
            }
            let scope = schema_scope(&db, &schema);
            let overloads: Vec<FunctionRecord> = catalog
                .objects_of(FUNCTION)
                .filter(|(s, k, _)| *s == scope && k.split('(').next() == Some(name.as_str()))
                .filter_map(|(_, _, body)| serde_json::from_value(body.clone()).ok())
                .collect();
            if overloads.is_empty() {
                return std::ops::ControlFlow::Continue(());
            }
            match RemoteUdf::new(engine, session, catalog, format!("{PREFIX}{}", udfs.len()), &name, overloads) {
                Ok(udf) => {
                    let udf_name = udf.name.clone();
                    udfs.push(AsyncScalarUDF::new(Arc::new(udf)).into_scalar_udf());
                    names.insert((db, schema, name), udf_name.clone());
                    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(udf_name))]);
                }
                Err(e) => {
                    failure = Some(e);
                    return std::ops::ControlFlow::Break(());
                }
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(udfs),
    }
}

/// One overload of a function as the statement calls it.
struct Overload {
    record: FunctionRecord,
    arg_types: Vec<SfType>,
    returns: SfType,
    call: OnceCell<Arc<remote::Call>>,
}

/// A function of one statement: its overloads and the statement's context.
struct RemoteUdf {
    name: String,
    signature: Signature,
    overloads: Vec<Overload>,
    engine: Engine,
    headers: Vec<Vec<(String, String)>>,
    query_id: String,
    cancel: CancellationToken,
}

impl std::fmt::Debug for RemoteUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteUdf({})", self.name)
    }
}

impl PartialEq for RemoteUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.query_id == other.query_id
    }
}
impl Eq for RemoteUdf {}
impl std::hash::Hash for RemoteUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.query_id.hash(state);
    }
}

/// The value of a CONTEXT_HEADERS function for this session.
fn context_value(engine: &Engine, session: &Session, function: &str) -> String {
    let now = chrono::Utc::now();
    match function {
        "CURRENT_ACCOUNT" => engine.config().account.to_uppercase(),
        "CURRENT_CLIENT" => "floe".into(),
        "CURRENT_DATABASE" => session.database.clone().unwrap_or_default(),
        "CURRENT_SCHEMA" => session.schema.clone().unwrap_or_default(),
        "CURRENT_SCHEMAS" => match (&session.database, &session.schema) {
            (Some(d), Some(s)) => format!("[\"{d}.{s}\"]"),
            _ => "[]".into(),
        },
        "CURRENT_DATE" => now.format("%Y-%m-%d").to_string(),
        "CURRENT_TIME" | "LOCALTIME" => now.format("%H:%M:%S").to_string(),
        "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" => now.format("%Y-%m-%d %H:%M:%S%.3f %z").to_string(),
        "CURRENT_IP_ADDRESS" => "127.0.0.1".into(),
        "CURRENT_REGION" => "FLOE".into(),
        "CURRENT_ROLE" => session.role.clone(),
        "CURRENT_SESSION" => session.id.to_string(),
        "CURRENT_STATEMENT" => session.current_statement.clone(),
        "CURRENT_TRANSACTION" | "LAST_TRANSACTION" => session.txn.as_ref().map(|t| t.id.to_string()).unwrap_or_default(),
        "CURRENT_USER" => session.user.clone(),
        "CURRENT_VERSION" => env!("CARGO_PKG_VERSION").into(),
        "CURRENT_WAREHOUSE" => session.warehouse.clone().unwrap_or_default(),
        "LAST_QUERY_ID" => session.query_ids.last().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

impl RemoteUdf {
    fn new(engine: &Engine, session: &Session, catalog: &store::Catalog, name: String, shown: &str, records: Vec<FunctionRecord>) -> Result<RemoteUdf, SfError> {
        let access = Access::of(engine, session, catalog);
        let mut overloads = Vec::new();
        let mut headers = Vec::new();
        for record in records {
            let obj = Securable::schema_object(FUNCTION, &record.database, &record.schema, &record.key());
            if !access.has_any(catalog, &["USAGE", "OWNERSHIP"], &obj) {
                continue;
            }
            let arg_types = record.args.iter().map(|(_, t)| SfType::parse(t)).collect::<Result<Vec<_>, _>>()?;
            let returns = SfType::parse(&record.returns)?;
            let mut h = Vec::new();
            if let Target::External { headers: custom, integration, .. } = &record.target {
                for (k, v) in custom {
                    h.push((format!("sf-custom-{k}"), v.clone()));
                }
                if let Some(key) = get::<ApiIntegration>(catalog, INTEGRATION, "", integration).and_then(|i| i.props.get("API_KEY").cloned()) {
                    h.push(("x-api-key".into(), key));
                }
            }
            for function in &record.context_headers {
                let value = context_value(engine, session, function);
                let header = format!("sf-context-{}", function.to_lowercase().replace('_', "-"));
                h.push((format!("{header}-base64"), base64::engine::general_purpose::STANDARD.encode(&value)));
                h.push((header, remote::header_text(&value)));
            }
            headers.push(h);
            overloads.push(Overload { record, arg_types, returns, call: OnceCell::new() });
        }
        if overloads.is_empty() {
            return Err(SfError::new("002140", "42601", model::ErrorKind::InvalidArgument, format!("SQL compilation error:\nUnknown function {}", display_ident(shown))));
        }
        let signatures: Vec<TypeSignature> = overloads
            .iter()
            .map(|o| if o.arg_types.is_empty() { TypeSignature::Nullary } else { TypeSignature::Exact(o.arg_types.iter().map(SfType::arrow).collect()) })
            .collect();
        let signature = if signatures.len() == 1 { Signature::new(signatures.into_iter().next().expect("one"), Volatility::Volatile) } else { Signature::one_of(signatures, Volatility::Volatile) };
        let query_id = session.current_query_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ok(RemoteUdf { name, signature, overloads, engine: engine.clone(), headers, query_id, cancel: session.current_cancel.clone() })
    }

    fn overload_for(&self, types: &[DataType]) -> Option<usize> {
        self.overloads.iter().position(|o| o.arg_types.len() == types.len() && o.arg_types.iter().zip(types).all(|(a, t)| &a.arrow() == t))
    }

    /// The overload's call, created at its first batch (targets resolved, service woken).
    async fn call(&self, index: usize) -> Result<Arc<remote::Call>, SfError> {
        let o = &self.overloads[index];
        o.call
            .get_or_try_init(|| async {
                let r = &o.record;
                let config = &self.engine.config().remote;
                let client = self.engine.remote_client().clone();
                let mut function = remote::Function {
                    name: r.name.clone(),
                    signature: r.signature(),
                    return_type: o.returns.to_sql(),
                    headers: self.headers[index].clone(),
                    max_batch_rows: r.max_batch_rows.map(|n| n as usize).unwrap_or(config.default_batch_rows),
                    max_retries: None,
                    on_failure: remote::OnFailure::Abort,
                    timeout: config.external_timeout,
                    gzip: false,
                    request_translator: None,
                    response_translator: None,
                    suffix_check: None,
                };
                let targets = match &r.target {
                    Target::External { integration, url, compression, request_translator, response_translator, .. } => {
                        let catalog = self.engine.store().snapshot();
                        function.request_translator = request_translator.as_deref().map(|t| translator(&catalog, t, &self.cancel)).transpose()?;
                        function.response_translator = response_translator.as_deref().map(|t| translator(&catalog, t, &self.cancel)).transpose()?;
                        let i = get::<ApiIntegration>(&catalog, INTEGRATION, "", integration)
                            .ok_or_else(|| SfError::kind_not_found("Integration", &display_ident(integration)))?;
                        if !i.enabled {
                            return Err(SfError::new(
                                "100351",
                                "P0000",
                                model::ErrorKind::InvalidArgument,
                                format!("Request failed for external function {}. Error: API integration {} is disabled.", r.name, display_ident(integration)),
                            ));
                        }
                        super::ddl::check_url(&i, url)?;
                        let (integration, written) = (i.clone(), url.clone());
                        function.suffix_check = Some(remote::SuffixCheck(Arc::new(move |suffix: &str| {
                            super::ddl::check_url(&integration, &format!("{written}{suffix}")).map_err(|e| e.message.replace("SQL compilation error:\n", ""))
                        })));
                        function.gzip = matches!(compression.as_str(), "GZIP" | "AUTO" | "DEFLATE");
                        let mapped = config.map_url(url);
                        if !mapped.starts_with("http://") && !mapped.starts_with("https://") {
                            return Err(SfError::new(
                                "100351",
                                "P0000",
                                model::ErrorKind::InvalidArgument,
                                format!("Request failed for external function {}. Error: '{mapped}' is not an http:// or https:// URL.", r.name),
                            ));
                        }
                        vec![mapped]
                    }
                    Target::Service { service, endpoint, path, max_batch_retries, on_batch_failure, batch_timeout_secs } => {
                        function.max_retries = Some(*max_batch_retries);
                        function.on_failure = if on_batch_failure == "RETURN_NULL" { remote::OnFailure::ReturnNull } else { remote::OnFailure::Abort };
                        function.timeout = Duration::from_secs(*batch_timeout_secs);
                        crate::spcs::endpoints::ready_targets(&self.engine, service, endpoint, path, Duration::from_secs(*batch_timeout_secs), &self.cancel).await?
                    }
                    Target::JavaScript { .. } => return Err(SfError::internal("a JavaScript function makes no HTTP calls")),
                };
                Ok(Arc::new(remote::Call::new(client, Arc::new(function), targets, self.query_id.clone(), self.cancel.clone())))
            })
            .await
            .cloned()
    }
}

impl ScalarUDFImpl for RemoteUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        let i = self.overload_for(arg_types).unwrap_or(0);
        Ok(self.overloads[i].returns.arrow())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Err(DataFusionError::Internal("remote functions are called asynchronously".into()))
    }
}

fn df(e: SfError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait::async_trait]
impl AsyncScalarUDFImpl for RemoteUdf {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(n)).collect::<DfResult<_>>()?;
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        let index = self.overload_for(&types).ok_or_else(|| DataFusionError::Internal(format!("no overload of {} for {types:?}", self.name)))?;
        let o = &self.overloads[index];
        let columns: Vec<Vec<Option<String>>> = arrays.iter().zip(&o.arg_types).map(|(array, ty)| encode(array, ty)).collect::<Result<_, _>>().map_err(df)?;
        // RETURNS NULL ON NULL INPUT: rows with a NULL argument are not sent and give NULL.
        let skip: Vec<bool> = (0..n).map(|i| o.record.strict && columns.iter().any(|c| c[i].is_none())).collect();
        let values = if let Some((params, body)) = o.record.javascript() {
            let js_columns: Vec<Vec<Option<js::Arg>>> = arrays
                .iter()
                .zip(&o.arg_types)
                .zip(columns)
                .map(|((array, ty), texts)| encode_js(array, ty, texts))
                .collect::<Result<_, _>>()
                .map_err(df)?;
            let rows: Vec<Vec<Option<js::Arg>>> = (0..n).filter(|i| !skip[*i]).map(|i| js_columns.iter().map(|c| c[i].clone()).collect()).collect();
            let (name, body) = (o.record.name.clone(), body.to_string());
            let limits = js_limits(&self.cancel);
            let run = tokio::task::spawn_blocking(move || js::run(js::Code { name: &name, params: &params, body: &body }, &rows, &limits));
            let out = tokio::select! {
                r = run => r.map_err(|e| DataFusionError::External(Box::new(e)))?,
                // The code stops at its next interrupt check (js_limits).
                _ = self.cancel.cancelled() => return Err(df(SfError::cancelled())),
            };
            out.map_err(|e| df(SfError::new("100132", "P0000", model::ErrorKind::InvalidArgument, e.to_string())))?
        } else {
            let call = self.call(index).await.map_err(df)?;
            let sent: Vec<String> = (0..n)
                .filter(|i| !skip[*i])
                .map(|i| columns.iter().map(|c| c[i].as_deref().unwrap_or("null")).collect::<Vec<_>>().join(","))
                .collect();
            call.run(sent).await.map_err(|e| match e {
                remote::Error::Cancelled => df(SfError::cancelled()),
                remote::Error::Remote(m) => df(SfError::new("100351", "P0000", model::ErrorKind::InvalidArgument, m)),
            })?
        };
        let values: Vec<Value> = if o.record.strict {
            let mut it = values.into_iter();
            skip.iter().map(|s| if *s { Value::Null } else { it.next().unwrap_or(Value::Null) }).collect()
        } else {
            values
        };
        if o.record.not_null && values.iter().any(Value::is_null) {
            return Err(df(SfError::new("100072", "22000", model::ErrorKind::InvalidArgument, format!("NULL result in a non-nullable column returned by function {}", o.record.name))));
        }
        decode(&values, &o.returns, &o.record.name).map(ColumnarValue::Array).map_err(df)
    }
}

/// A translator named `DB.SCHEMA.NAME` (checked at CREATE; it may have been dropped since).
fn translator(catalog: &store::Catalog, qualified: &str, cancel: &CancellationToken) -> Result<remote::Translator, SfError> {
    let parts: Vec<&str> = qualified.splitn(3, '.').collect();
    let [db, schema, name] = parts.as_slice() else { return Err(SfError::internal(format!("translator name {qualified}"))) };
    let key = super::signature_key(name, &["OBJECT".to_string()]);
    let record = get::<FunctionRecord>(catalog, FUNCTION, &schema_scope(db, schema), &key)
        .filter(|r| r.javascript().is_some())
        .ok_or_else(|| SfError::new("002140", "42601", model::ErrorKind::InvalidArgument, format!("SQL compilation error:\nUnknown user-defined function {qualified}(OBJECT).")))?;
    let Some((params, body)) = record.javascript() else { return Err(SfError::internal("not JavaScript")) };
    let (name, body) = (record.name.clone(), body.to_string());
    let limits = js_limits(cancel);
    Ok(remote::Translator {
        name: qualified.to_string(),
        call: Arc::new(move |event| js::call_one(js::Code { name: &name, params: &params, body: &body }, &event, &limits).map_err(|e| e.to_string())),
    })
}

/// JavaScript's bounds in a statement: the defaults, stopped when the statement is cancelled.
fn js_limits(cancel: &CancellationToken) -> js::Limits {
    let cancel = cancel.clone();
    js::Limits { cancel: Some(Arc::new(move || cancel.is_cancelled())), ..js::Limits::default() }
}

/// Each value of an argument column as a JavaScript function's argument, as Snowflake maps SQL types
/// to JavaScript: FLOAT a number (NaN and ±Infinity included), DATE and TIMESTAMP_* a `Date`, BINARY
/// a `Uint8Array`, the rest their JSON text (`texts`, from `encode`).
fn encode_js(array: &ArrayRef, ty: &SfType, texts: Vec<Option<String>>) -> Result<Vec<Option<js::Arg>>, SfError> {
    use datafusion::arrow::datatypes::{Float64Type, TimestampMillisecondType};
    let err = |e: datafusion::arrow::error::ArrowError| SfError::internal(format!("JavaScript argument: {e}"));
    Ok(match ty {
        SfType::Float => {
            let a = cast_with_options(array, &DataType::Float64, &CastOptions::default()).map_err(err)?;
            a.as_primitive::<Float64Type>().iter().map(|v| v.map(js::Arg::Number)).collect()
        }
        SfType::Date | SfType::TimestampNtz(_) | SfType::TimestampLtz(_) | SfType::TimestampTz(_) => {
            let tz = match array.data_type() {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            let a = cast_with_options(array, &DataType::Timestamp(TimeUnit::Millisecond, tz), &CastOptions::default()).map_err(err)?;
            a.as_primitive::<TimestampMillisecondType>().iter().map(|v| v.map(|ms| js::Arg::Date(ms as f64))).collect()
        }
        SfType::Binary(_) if array.data_type() == &DataType::Binary => {
            array.as_binary::<i32>().iter().map(|v| v.map(|b| js::Arg::Bytes(b.to_vec()))).collect()
        }
        _ => texts.into_iter().map(|t| t.map(js::Arg::Json)).collect(),
    })
}

/// Each value of an argument column as JSON text (None for NULL).
fn encode(array: &ArrayRef, ty: &SfType) -> Result<Vec<Option<String>>, SfError> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    match array.data_type() {
        DataType::Int64 => {
            let a = array.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| a.value(i).to_string()));
            }
        }
        DataType::Float64 => {
            let a = array.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| {
                    let v = a.value(i);
                    if v.is_finite() { serde_json::to_string(&v).unwrap_or_default() } else { format!("\"{}\"", if v.is_nan() { "NaN" } else if v > 0.0 { "inf" } else { "-inf" }) }
                }));
            }
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| a.value(i).to_string()));
            }
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| json_string(a.value(i))));
            }
        }
        DataType::LargeUtf8 => {
            // VARIANT / OBJECT / ARRAY: already JSON text.
            let a = array.as_string::<i64>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| a.value(i).to_string()));
            }
        }
        DataType::Decimal128(_, _) => {
            let texts = cast_with_options(array, &DataType::Utf8, &CastOptions::default()).map_err(|e| SfError::internal(e.to_string()))?;
            let a = texts.as_string::<i32>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| a.value(i).to_string()));
            }
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| {
                    let mut hex = String::with_capacity(a.value(i).len() * 2 + 2);
                    hex.push('"');
                    for b in a.value(i) {
                        let _ = write!(hex, "{b:02X}");
                    }
                    hex.push('"');
                    hex
                }));
            }
        }
        _ => {
            // Dates, times and timestamps: text in the default output formats.
            let format = match ty {
                SfType::Date => "%Y-%m-%d",
                SfType::Time(_) => "%H:%M:%S",
                SfType::TimestampNtz(_) => "%Y-%m-%d %H:%M:%S%.3f",
                _ => "%Y-%m-%d %H:%M:%S%.3f %z",
            };
            let options = FormatOptions::default().with_date_format(Some(format)).with_time_format(Some(format)).with_timestamp_format(Some(format)).with_timestamp_tz_format(Some(format));
            let formatter = datafusion::arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| SfError::internal(e.to_string()))?;
            for i in 0..n {
                out.push(array.is_valid(i).then(|| json_string(&formatter.value(i).to_string())));
            }
        }
    }
    Ok(out)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The response values as an array of the return type.
fn decode(values: &[Value], ty: &SfType, function: &str) -> Result<ArrayRef, SfError> {
    let wrong = |v: &Value| {
        SfError::new("100351", "P0000", model::ErrorKind::InvalidArgument, format!("Error parsing JSON response for external function {function}. Error: value {v} does not convert to {}", ty.to_sql()))
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let array: ArrayRef = match ty.arrow() {
        DataType::Int64 => {
            let mut b = Int64Builder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(n) => b.append_value(n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)).ok_or_else(|| wrong(v))?),
                    Value::String(s) => b.append_value(s.trim().parse::<f64>().map(|f| f.round() as i64).map_err(|_| wrong(v))?),
                    Value::Bool(x) => b.append_value(*x as i64),
                    _ => return Err(wrong(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(n) => b.append_value(n.as_f64().ok_or_else(|| wrong(v))?),
                    Value::String(s) => b.append_value(s.trim().parse::<f64>().map_err(|_| wrong(v))?),
                    _ => return Err(wrong(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Bool(x) => b.append_value(*x),
                    Value::String(s) if s.eq_ignore_ascii_case("true") => b.append_value(true),
                    Value::String(s) if s.eq_ignore_ascii_case("false") => b.append_value(false),
                    Value::Number(n) => b.append_value(n.as_f64().is_some_and(|f| f != 0.0)),
                    _ => return Err(wrong(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 16);
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    other => b.append_value(as_text(other)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::LargeUtf8 => {
            let mut b = LargeStringBuilder::with_capacity(values.len(), values.len() * 16);
            for v in values {
                match (v, ty) {
                    (Value::Null, _) => b.append_null(),
                    (Value::Object(_), SfType::Object) | (Value::Array(_), SfType::Array) | (_, SfType::Variant) => b.append_value(v.to_string()),
                    _ => return Err(wrong(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = datafusion::arrow::array::BinaryBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::String(s) => {
                        let bytes = (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<Vec<u8>>>().ok_or_else(|| wrong(v))?;
                        b.append_value(bytes);
                    }
                    _ => return Err(wrong(v)),
                }
            }
            Arc::new(b.finish())
        }
        target => {
            // Decimals, dates, times, timestamps: through their text, as a cast from VARCHAR would.
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 16);
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(_) | Value::String(_) => b.append_value(as_text(v).replace('T', " ")),
                    _ => return Err(wrong(v)),
                }
            }
            let texts: ArrayRef = Arc::new(b.finish());
            let target = match target {
                DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => target,
                other => other,
            };
            let options = CastOptions { safe: false, ..CastOptions::default() };
            cast_with_options(&texts, &target, &options).map_err(|e| crate::errors::from_datafusion(DataFusionError::ArrowError(Box::new(e), None)))?
        }
    };
    if array.len() != values.len() {
        return Ok(new_null_array(&ty.arrow(), values.len()));
    }
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Int64Array, StringArray};

    #[test]
    fn url_map() {
        let config = RemoteConfig {
            url_map: RemoteConfig::parse_url_map("https://abc.execute-api.us-west-2.amazonaws.com/=http://127.0.0.1:9000/, https://abc.execute-api.us-west-2.amazonaws.com/prod/=http://127.0.0.1:9001/p/").unwrap(),
            ..RemoteConfig::default()
        };
        assert_eq!(config.map_url("https://abc.execute-api.us-west-2.amazonaws.com/prod/f"), "http://127.0.0.1:9001/p/f");
        assert_eq!(config.map_url("https://abc.execute-api.us-west-2.amazonaws.com/dev/f"), "http://127.0.0.1:9000/dev/f");
        assert_eq!(config.map_url("http://x/y"), "http://x/y");
        assert!(RemoteConfig::parse_url_map("nonsense").is_err());
    }

    #[test]
    fn encodings() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(10), None]));
        assert_eq!(encode(&a, &SfType::Number(38, 0)).unwrap(), vec![Some("10".into()), None]);
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("A\"lex"), None]));
        assert_eq!(encode(&s, &SfType::Varchar(10)).unwrap(), vec![Some("\"A\\\"lex\"".into()), None]);
        let d: ArrayRef = Arc::new(Date32Array::from(vec![Some(16071)]));
        assert_eq!(encode(&d, &SfType::Date).unwrap(), vec![Some("\"2014-01-01\"".into())]);
    }

    #[test]
    fn decodings() {
        let v = vec![serde_json::json!(1), Value::Null, serde_json::json!("3")];
        let a = decode(&v, &SfType::Number(38, 0), "F").unwrap();
        assert_eq!(a.as_primitive::<datafusion::arrow::datatypes::Int64Type>().values().to_vec()[..1], [1]);
        assert!(a.is_null(1));
        let o = decode(&[serde_json::json!({"a": 1})], &SfType::Variant, "F").unwrap();
        assert_eq!(o.as_string::<i64>().value(0), "{\"a\":1}");
        let t = decode(&[serde_json::json!({"a": 1})], &SfType::Varchar(100), "F").unwrap();
        assert_eq!(t.as_string::<i32>().value(0), "{\"a\":1}");
        let bad = decode(&[serde_json::json!("x")], &SfType::Number(38, 0), "F").unwrap_err();
        assert!(bad.message.contains("does not convert to NUMBER(38,0)"), "{}", bad.message);
        let d = decode(&[serde_json::json!("2014-01-01")], &SfType::Date, "F").unwrap();
        assert_eq!(d.data_type(), &DataType::Date32);
    }
}

/// True for a call of a statement's remote UDF.
fn is_remote(e: &datafusion::logical_expr::Expr) -> bool {
    matches!(e, datafusion::logical_expr::Expr::ScalarFunction(f) if f.func.name().starts_with(PREFIX))
}

/// Moves remote calls out of plan nodes whose physical operators cannot evaluate async functions (sort
/// keys, grouping keys, aggregate and window arguments, …) into a projection below the node, which
/// DataFusion plans as an AsyncFuncExec; the node then reads a column. Output names are kept (aliases),
/// and a projection above drops the lifted columns where they would pass through (Sort, Window).
pub(crate) fn lift(plan: datafusion::logical_expr::LogicalPlan) -> DfResult<datafusion::logical_expr::LogicalPlan> {
    use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Expr, LogicalPlan, Projection, col};
    let mut counter = 0usize;
    plan.transform_up(|node| {
        if matches!(node, LogicalPlan::Projection(_) | LogicalPlan::Filter(_)) || node.inputs().len() != 1 {
            return Ok(Transformed::no(node));
        }
        let mut calls: Vec<Expr> = Vec::new();
        for e in node.expressions() {
            e.apply(|x| {
                if is_remote(x) {
                    if !calls.contains(x) {
                        calls.push(x.clone());
                    }
                    return Ok(TreeNodeRecursion::Jump);
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        if calls.is_empty() {
            return Ok(Transformed::no(node));
        }
        let original = node.schema().clone();
        let input = node.inputs()[0].clone();
        let mut exprs: Vec<Expr> = input.schema().columns().into_iter().map(Expr::Column).collect();
        let mut names = Vec::with_capacity(calls.len());
        for call in &calls {
            let name = format!("__floe_lifted_{counter}");
            counter += 1;
            exprs.push(call.clone().alias(&name));
            names.push(name);
        }
        let below = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?);
        let node_exprs = node.expressions();
        // Expressions whose position names an output field (aggregate and window nodes) keep that name.
        let named_from = match &node {
            LogicalPlan::Aggregate(_) => Some(0),
            LogicalPlan::Window(w) => Some(w.input.schema().fields().len()),
            _ => None,
        };
        let mut replaced = Vec::with_capacity(node_exprs.len());
        for (i, e) in node_exprs.into_iter().enumerate() {
            let new = e
                .transform_up(|x| {
                    if let Some(k) = calls.iter().position(|c| *c == x) {
                        return Ok(Transformed::yes(col(datafusion::common::Column::from_name(&names[k]))));
                    }
                    Ok(Transformed::no(x))
                })?
                .data;
            let new = match named_from {
                Some(base) if original.fields().len() > base + i => {
                    let (qualifier, field) = original.qualified_field(base + i);
                    match new {
                        Expr::Alias(a) => Expr::Alias(a),
                        other => other.alias_qualified(qualifier.cloned(), field.name()),
                    }
                }
                _ => new,
            };
            replaced.push(new);
        }
        let rebuilt = node.with_new_exprs(replaced, vec![below])?;
        if rebuilt.schema().fields().len() == original.fields().len() {
            return Ok(Transformed::yes(rebuilt));
        }
        let keep: Vec<Expr> = original.columns().into_iter().map(Expr::Column).collect();
        Ok(Transformed::yes(LogicalPlan::Projection(Projection::try_new(keep, Arc::new(rebuilt))?)))
    })
    .map(|t| t.data)
}
