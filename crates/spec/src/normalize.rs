//! The normalized YAML of a `Spec`, as DESCRIBE SERVICE's `spec` column shows it (spcs.md §4.6):
//! `---` then block style, fields in one fixed order, strings double-quoted, defaults left out
//! (so two specs that mean the same print the same), memory as its shortest exact quantity, and the
//! caller's resolved `sha256`. `spec_digest` is the SHA-256 of this text. Deterministic: no clock,
//! no maps with random order.

use sha2::{Digest, Sha256};

use crate::model::{
    Container, Endpoint, FAILURE_THRESHOLD, LIVENESS_PERIOD_SECS, LogLevel, Probe, Quantities,
    READINESS_PERIOD_SECS, Resources, SESSION_TOKEN_DIR, SESSION_TOKEN_PERMISSION, SecretRef, Spec,
    Value, Volume, VolumeSource,
};
use crate::quantity::{format_cpu, format_memory};

/// The normalized YAML text of `spec`.
pub fn normalized_yaml(spec: &Spec) -> String {
    let mut body = Map::new();
    body.seq(
        "containers",
        spec.containers.iter().map(container).collect(),
    );
    body.seq("endpoints", spec.endpoints.iter().map(endpoint).collect());
    body.seq("volumes", spec.volumes.iter().map(volume).collect());
    if spec.log_level != LogLevel::Info {
        let mut config = Map::new();
        config.str("logLevel", spec.log_level.as_str());
        let mut exporters = Map::new();
        exporters.map("eventTableConfig", config);
        body.map("logExporters", exporters);
    }
    if !spec.metric_groups.is_empty() {
        let mut config = Map::new();
        config.seq(
            "groups",
            spec.metric_groups
                .iter()
                .map(|g| Value::Str(g.clone()))
                .collect(),
        );
        let mut monitor = Map::new();
        monitor.map("metricConfig", config);
        body.map("platformMonitor", monitor);
    }
    if let Some(value) = &spec.resource_management {
        body.put("resourceManagement", value.clone());
    }
    let mut root = Map::new();
    root.map("spec", body);
    let mut context = Map::new();
    if spec.capabilities.execute_as_caller {
        context.put("executeAsCaller", Value::Bool(true));
    }
    if spec.capabilities.enable_custom_credentials {
        context.put("enableCustomCredentials", Value::Bool(true));
    }
    if !context.0.is_empty() {
        let mut capabilities = Map::new();
        capabilities.map("securityContext", context);
        root.map("capabilities", capabilities);
    }
    let roles = spec.service_roles.iter().map(|role| {
        let mut out = Map::new();
        out.str("name", &role.name);
        out.seq(
            "endpoints",
            role.endpoints
                .iter()
                .map(|e| Value::Str(e.clone()))
                .collect(),
        );
        out.into_value()
    });
    root.seq("serviceRoles", roles.collect());
    let mut text = String::from("---\n");
    emit_map(&root.0, 0, &mut text);
    text
}

/// 64 lower-case hex digits: the SHA-256 of `normalized_yaml(spec)`.
pub fn spec_digest(spec: &Spec) -> String {
    let digest = Sha256::digest(normalized_yaml(spec).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An ordered mapping under construction; empty lists are left out.
struct Map(Vec<(String, Value)>);

impl Map {
    fn new() -> Self {
        Map(Vec::new())
    }
    fn put(&mut self, key: &str, value: Value) {
        self.0.push((key.to_owned(), value));
    }
    fn str(&mut self, key: &str, value: &str) {
        self.put(key, Value::Str(value.to_owned()));
    }
    fn num(&mut self, key: &str, value: impl ToString) {
        self.put(key, Value::Number(value.to_string()));
    }
    fn map(&mut self, key: &str, value: Map) {
        self.put(key, value.into_value());
    }
    fn seq(&mut self, key: &str, items: Vec<Value>) {
        if !items.is_empty() {
            self.put(key, Value::Seq(items));
        }
    }
    fn into_value(self) -> Value {
        Value::Map(self.0)
    }
}

fn strings(items: &[String]) -> Value {
    Value::Seq(items.iter().map(|s| Value::Str(s.clone())).collect())
}

fn container(container: &Container) -> Value {
    let mut out = Map::new();
    out.str("name", &container.name);
    out.str("image", &container.image);
    if let Some(sha256) = &container.sha256 {
        let hex = sha256.trim_start_matches('@');
        let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
        out.str("sha256", &format!("@sha256:{hex}"));
    }
    if let Some(command) = &container.command {
        out.put("command", strings(command));
    }
    if let Some(args) = &container.args {
        out.put("args", strings(args));
    }
    if !container.env.is_empty() {
        let env = container
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::Str(v.clone())));
        out.put("env", Value::Map(env.collect()));
    }
    if let Some(probe) = &container.readiness_probe {
        out.map("readinessProbe", self::probe(probe, READINESS_PERIOD_SECS));
    }
    if let Some(probe) = &container.liveness_probe {
        out.map("livenessProbe", self::probe(probe, LIVENESS_PERIOD_SECS));
    }
    let mounts = container.volume_mounts.iter().map(|mount| {
        let mut item = Map::new();
        item.str("name", &mount.name);
        item.str("mountPath", &mount.mount_path);
        item.into_value()
    });
    out.seq("volumeMounts", mounts.collect());
    if let Some(resources) = resources(&container.resources) {
        out.map("resources", resources);
    }
    if !container.mount_session_token {
        out.put("mountSessionToken", Value::Bool(false));
    }
    if let Some(config) = &container.session_token_config {
        let mut item = Map::new();
        if config.path != SESSION_TOKEN_DIR || config.permission != SESSION_TOKEN_PERMISSION {
            item.str("path", &config.path);
        }
        if config.permission != SESSION_TOKEN_PERMISSION {
            item.str("permission", &format!("{:04o}", config.permission));
        }
        if config.mount_connection_config {
            item.put("mountConnectionConfig", Value::Bool(true));
        }
        out.map("sessionTokenConfig", item);
    }
    out.seq("secrets", container.secrets.iter().map(secret).collect());
    out.into_value()
}

fn probe(probe: &Probe, default_period: u32) -> Map {
    let mut out = Map::new();
    out.num("port", probe.port);
    out.str("path", &probe.path);
    if probe.period_secs != default_period {
        out.num("periodSeconds", probe.period_secs);
    }
    if probe.failure_threshold != FAILURE_THRESHOLD {
        out.num("failureThreshold", probe.failure_threshold);
    }
    out
}

fn resources(resources: &Resources) -> Option<Map> {
    let quantities = |q: &Quantities| {
        let mut out = Map::new();
        if let Some(memory) = q.memory {
            out.str("memory", &format_memory(memory));
        }
        if let Some(cpu) = q.cpu {
            out.num("cpu", format_cpu(cpu));
        }
        if let Some(gpu) = q.gpu {
            out.num("nvidia.com/gpu", gpu);
        }
        (!out.0.is_empty()).then_some(out)
    };
    let mut out = Map::new();
    if let Some(requests) = quantities(&resources.requests) {
        out.map("requests", requests);
    }
    if let Some(limits) = quantities(&resources.limits) {
        out.map("limits", limits);
    }
    (!out.0.is_empty()).then_some(out)
}

fn secret(secret: &SecretRef) -> Value {
    let mut object = Map::new();
    let key = if secret.object_reference {
        "objectReference"
    } else {
        "objectName"
    };
    object.str(key, &secret.object_name);
    let mut out = Map::new();
    out.map("snowflakeSecret", object);
    if let Some(env) = &secret.env_var_name {
        out.str("envVarName", env);
    }
    if let Some(key) = &secret.secret_key_ref {
        out.str("secretKeyRef", key);
    }
    if let Some(dir) = &secret.directory_path {
        out.str("directoryPath", dir);
    }
    out.into_value()
}

fn endpoint(endpoint: &Endpoint) -> Value {
    let mut out = Map::new();
    out.str("name", &endpoint.name);
    if let Some(port) = endpoint.port {
        out.num("port", port);
    }
    if let Some((low, high)) = endpoint.port_range {
        out.str("portRange", &format!("{low}-{high}"));
    }
    if endpoint.public {
        out.put("public", Value::Bool(true));
    }
    if endpoint.protocol != "HTTP" {
        out.str("protocol", &endpoint.protocol);
    }
    if let Some(cors) = &endpoint.cors {
        let mut item = Map::new();
        item.seq(
            "Access-Control-Allow-Origin",
            cors.allow_origin
                .iter()
                .map(|s| Value::Str(s.clone()))
                .collect(),
        );
        item.seq(
            "Access-Control-Allow-Methods",
            cors.allow_methods
                .iter()
                .map(|s| Value::Str(s.clone()))
                .collect(),
        );
        item.seq(
            "Access-Control-Allow-Headers",
            cors.allow_headers
                .iter()
                .map(|s| Value::Str(s.clone()))
                .collect(),
        );
        item.seq(
            "Access-Control-Expose-Headers",
            cors.expose_headers
                .iter()
                .map(|s| Value::Str(s.clone()))
                .collect(),
        );
        out.map("corsSettings", item);
    }
    out.into_value()
}

fn volume(volume: &Volume) -> Value {
    let mut out = Map::new();
    out.str("name", &volume.name);
    let source = match &volume.source {
        VolumeSource::Local => "local",
        VolumeSource::Memory => "memory",
        VolumeSource::Stage { .. } => "stage",
        VolumeSource::Block => "block",
        VolumeSource::LegacyStage(stage) => stage.as_str(),
    };
    out.str("source", source);
    if let Some(size) = volume.size {
        out.str("size", &format_memory(size));
    }
    if let Some(uid) = volume.uid {
        out.num("uid", uid);
    }
    if let Some(gid) = volume.gid {
        out.num("gid", gid);
    }
    if let VolumeSource::Stage { name } = &volume.source {
        let mut config = Map::new();
        config.str("name", name);
        if let Some(cache) = &volume.stage_metadata_cache {
            config.str("metadataCache", cache);
        }
        if let Some(resources) = volume.stage_resources.as_ref().and_then(resources) {
            config.map("resources", resources);
        }
        out.map("stageConfig", config);
    }
    if let Some(config) = &volume.block_config {
        out.put("blockConfig", config.clone());
    }
    out.into_value()
}

fn emit_scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(text) => Some(text.clone()),
        Value::Str(text) => Some(quote(text)),
        Value::Seq(items) if items.is_empty() => Some("[]".to_owned()),
        Value::Map(entries) if entries.is_empty() => Some("{}".to_owned()),
        Value::Seq(_) | Value::Map(_) => None,
    }
}

/// A double-quoted YAML string (JSON's escapes are a subset of YAML's).
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn emit_key(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if plain { key.to_owned() } else { quote(key) }
}

fn emit_map(entries: &[(String, Value)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (key, value) in entries {
        let key = emit_key(key);
        match (emit_scalar(value), value) {
            (Some(scalar), _) => out.push_str(&format!("{pad}{key}: {scalar}\n")),
            (None, Value::Seq(items)) => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_seq(items, indent, out);
            }
            (None, Value::Map(inner)) => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_map(inner, indent + 2, out);
            }
            (None, _) => debug_assert!(false, "emit_scalar covers every scalar"),
        }
    }
}

fn emit_seq(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        if let Some(scalar) = emit_scalar(item) {
            out.push_str(&format!("{pad}- {scalar}\n"));
            continue;
        }
        // A nested block goes on the dash's line: render it two deeper, then put the dash over
        // its first indentation.
        let mut nested = String::new();
        match item {
            Value::Map(entries) => emit_map(entries, indent + 2, &mut nested),
            Value::Seq(inner) => emit_seq(inner, indent + 2, &mut nested),
            _ => {}
        }
        out.push_str(&pad);
        out.push_str("- ");
        out.push_str(nested.get(indent + 2..).unwrap_or(&nested));
    }
}
