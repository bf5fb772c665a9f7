//! From the YAML tree to a `Spec`: the document's shape (spcs.md §6.1): which keys exist at each
//! level (unknown ones are errors naming their path), their types, required fields, defaults, and
//! checks that need only the field itself (ports, protocol names, quantities). Containers are in
//! `container.rs`; rules across fields and items are in `validate.rs`.

use crate::SpecError;
use crate::container;
use crate::model::{
    Capabilities, Cors, Endpoint, LogLevel, ServiceRole, Spec, Value, Volume, VolumeSource,
};
use crate::node::{Fields, Node, ScalarKind};
use crate::quantity::parse_quantity_memory;

/// The metric groups `platformMonitor.metricConfig.groups` may name (spcs.md §6.6).
pub(crate) const METRIC_GROUPS: &[&str] =
    &["system", "system_limits", "status", "network", "storage"];

pub(crate) fn spec(root: &Node) -> Result<Spec, SpecError> {
    let top = Fields::new(root, "", &["spec", "capabilities", "serviceRoles"])?;
    let body = top.require("spec")?;
    let fields = Fields::new(
        body,
        "spec",
        &[
            "containers",
            "container",
            "endpoints",
            "endpoint",
            "volumes",
            "logExporters",
            "platformMonitor",
            "resourceManagement",
            // Older tutorials carry `networkPolicyConfig: {allowInternetEgress: true}`; egress is
            // governed by external access integrations now, so it is accepted and ignored.
            "networkPolicyConfig",
        ],
    )?;
    let mut spec = Spec::default();
    let containers = plural(&fields, "containers", "container")?
        .ok_or_else(|| SpecError::new("spec.containers", "required"))?;
    for (idx, item) in containers.iter().enumerate() {
        spec.containers.push(container::container(
            item,
            &format!("spec.containers[{idx}]"),
        )?);
    }
    if let Some(endpoints) = plural(&fields, "endpoints", "endpoint")? {
        for (idx, item) in endpoints.iter().enumerate() {
            spec.endpoints
                .push(endpoint(item, &format!("spec.endpoints[{idx}]"))?);
        }
    }
    if let Some(volumes) = fields.get("volumes") {
        for (idx, item) in volumes.as_seq("spec.volumes")?.iter().enumerate() {
            spec.volumes
                .push(volume(item, &format!("spec.volumes[{idx}]"))?);
        }
    }
    if let Some(node) = fields.get("logExporters") {
        spec.log_level = log_level(node)?;
    }
    if let Some(node) = fields.get("platformMonitor") {
        spec.metric_groups = metric_groups(node)?;
    }
    if let Some(node) = fields.get("networkPolicyConfig") {
        let policy = Fields::new(node, "spec.networkPolicyConfig", &["allowInternetEgress"])?;
        policy.opt_bool("allowInternetEgress")?;
    }
    spec.resource_management = fields.get("resourceManagement").map(value);
    if let Some(node) = top.get("capabilities") {
        spec.capabilities = capabilities(node)?;
    }
    if let Some(node) = top.get("serviceRoles") {
        for (idx, item) in node.as_seq("serviceRoles")?.iter().enumerate() {
            spec.service_roles
                .push(service_role(item, &format!("serviceRoles[{idx}]"))?);
        }
    }
    Ok(spec)
}

/// `containers:` or Snowflake's documented singular `container:` (a list, or one mapping).
fn plural<'a>(
    fields: &Fields<'a>,
    key: &str,
    singular: &str,
) -> Result<Option<Vec<&'a Node>>, SpecError> {
    let node = match (fields.get(key), fields.get(singular)) {
        (Some(_), Some(_)) => {
            return Err(SpecError::new(
                fields.path(),
                format!("'{key}' and '{singular}' cannot both be given"),
            ));
        }
        (Some(node), None) => node,
        (None, Some(node)) if matches!(node, Node::Map(_)) => return Ok(Some(vec![node])),
        (None, Some(node)) => node,
        (None, None) => return Ok(None),
    };
    Ok(Some(node.as_seq(&fields.at(key))?.iter().collect()))
}

/// A port: 1..65535, as a number or a quoted number.
pub(crate) fn port(node: &Node, path: &str) -> Result<u16, SpecError> {
    let number = node.as_int(path)?;
    u16::try_from(number)
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| {
            SpecError::new(
                path,
                format!("{number} is not a valid port: must be 1 to 65535"),
            )
        })
}

fn endpoint(node: &Node, path: &str) -> Result<Endpoint, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &[
            "name",
            "port",
            "portRange",
            "public",
            "protocol",
            "corsSettings",
        ],
    )?;
    let protocol = match fields.get("protocol") {
        None => "HTTP".to_owned(),
        Some(node) => {
            let text = node.as_str(&fields.at("protocol"))?;
            let upper = text.to_ascii_uppercase();
            if !matches!(upper.as_str(), "HTTP" | "HTTPS" | "TCP") {
                return Err(SpecError::new(
                    &fields.at("protocol"),
                    format!("'{text}' is invalid: must be HTTP, HTTPS or TCP"),
                ));
            }
            upper
        }
    };
    let port = fields
        .get("port")
        .map(|node| port(node, &fields.at("port")))
        .transpose()?;
    let port_range = fields
        .get("portRange")
        .map(|node| port_range(node, &fields.at("portRange")))
        .transpose()?;
    let cors = fields
        .get("corsSettings")
        .map(|node| cors(node, &fields.at("corsSettings")))
        .transpose()?;
    Ok(Endpoint {
        name: fields.require("name")?.as_text(&fields.at("name"))?,
        port,
        port_range,
        public: fields.opt_bool("public")?.unwrap_or(false),
        protocol,
        cors,
    })
}

fn port_range(node: &Node, path: &str) -> Result<(u16, u16), SpecError> {
    let text = node.as_text(path)?;
    let invalid = || {
        SpecError::new(
            path,
            format!("'{text}' is invalid: must be \"<low>-<high>\" with ports 1 to 65535"),
        )
    };
    let (low, high) = text.split_once('-').ok_or_else(invalid)?;
    let parse = |s: &str| s.trim().parse::<u16>().ok().filter(|port| *port > 0);
    let (low, high) = (
        parse(low).ok_or_else(invalid)?,
        parse(high).ok_or_else(invalid)?,
    );
    if low > high {
        return Err(SpecError::new(
            path,
            format!("'{text}' is invalid: the low port is above the high port"),
        ));
    }
    Ok((low, high))
}

fn cors(node: &Node, path: &str) -> Result<Cors, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &[
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Expose-Headers",
        ],
    )?;
    let list = |key: &str| -> Result<Vec<String>, SpecError> {
        fields
            .get(key)
            .map(|node| node.as_text_list(&fields.at(key)))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let origin_path = fields.at("Access-Control-Allow-Origin");
    let allow_origin = fields
        .require("Access-Control-Allow-Origin")?
        .as_text_list(&origin_path)?;
    if allow_origin.is_empty() {
        return Err(SpecError::new(
            &origin_path,
            "required: at least one origin",
        ));
    }
    if let Some(idx) = allow_origin.iter().position(|origin| origin.trim() == "*") {
        return Err(SpecError::new(
            &format!("{origin_path}[{idx}]"),
            "'*' is not allowed: name each origin",
        ));
    }
    Ok(Cors {
        allow_origin,
        allow_methods: list("Access-Control-Allow-Methods")?,
        allow_headers: list("Access-Control-Allow-Headers")?,
        expose_headers: list("Access-Control-Expose-Headers")?,
    })
}

fn volume(node: &Node, path: &str) -> Result<Volume, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &[
            "name",
            "source",
            "size",
            "uid",
            "gid",
            "stageConfig",
            "blockConfig",
        ],
    )?;
    let source_path = fields.at("source");
    let source_text = fields.require("source")?.as_str(&source_path)?;
    let mut volume = Volume {
        name: fields.require("name")?.as_text(&fields.at("name"))?,
        uid: fields
            .get("uid")
            .map(|node| id(node, &fields.at("uid")))
            .transpose()?,
        gid: fields
            .get("gid")
            .map(|node| id(node, &fields.at("gid")))
            .transpose()?,
        ..Volume::default()
    };
    volume.source = match source_text.to_ascii_lowercase().as_str() {
        "local" => VolumeSource::Local,
        "memory" => VolumeSource::Memory,
        "block" => VolumeSource::Block,
        "stage" => {
            let config_path = fields.at("stageConfig");
            let config = fields
                .get("stageConfig")
                .ok_or_else(|| SpecError::new(&config_path, "required for a stage volume"))?;
            let config = Fields::new(
                config,
                &config_path,
                &["name", "metadataCache", "resources"],
            )?;
            let name = config.require("name")?.as_str(&config.at("name"))?;
            if !name.starts_with('@') || name.len() < 2 {
                return Err(SpecError::new(
                    &config.at("name"),
                    format!(
                        "'{name}' is invalid: must be a stage such as \"@db.schema.stage/path\""
                    ),
                ));
            }
            volume.stage_metadata_cache = config
                .get("metadataCache")
                .map(|node| metadata_cache(node, &config.at("metadataCache")))
                .transpose()?;
            volume.stage_resources = config
                .get("resources")
                .map(|node| container::resources(node, &config.at("resources")))
                .transpose()?;
            VolumeSource::Stage { name }
        }
        _ if source_text.starts_with('@') && source_text.len() > 1 => {
            VolumeSource::LegacyStage(source_text.clone())
        }
        _ => {
            return Err(SpecError::new(
                &source_path,
                format!(
                    "'{source_text}' is invalid: must be local, memory, stage, block or \"@<stage>\""
                ),
            ));
        }
    };
    let is_stage = matches!(volume.source, VolumeSource::Stage { .. });
    let is_block = volume.source == VolumeSource::Block;
    if fields.has("stageConfig") && !is_stage {
        return Err(SpecError::new(
            &fields.at("stageConfig"),
            "only allowed with source: stage",
        ));
    }
    if let Some(node) = fields.get("blockConfig") {
        if !is_block {
            return Err(SpecError::new(
                &fields.at("blockConfig"),
                "only allowed with source: block",
            ));
        }
        node.as_map(&fields.at("blockConfig"))?;
        volume.block_config = Some(value(node));
    }
    let size_path = fields.at("size");
    match (fields.get("size"), &volume.source) {
        (Some(node), VolumeSource::Memory | VolumeSource::Block) => {
            let text = node.as_text(&size_path)?;
            let bytes = parse_quantity_memory(&text)
                .map_err(|message| SpecError::new(&size_path, message))?;
            if is_block && (bytes == 0 || bytes % (1 << 30) != 0) {
                return Err(SpecError::new(
                    &size_path,
                    format!(
                        "'{text}' is invalid: a block volume's size must be a whole number of Gi (e.g. 10Gi)"
                    ),
                ));
            }
            volume.size = Some(bytes);
        }
        (None, VolumeSource::Memory | VolumeSource::Block) => {
            return Err(SpecError::new(
                &size_path,
                format!("required for a {} volume", source_text.to_ascii_lowercase()),
            ));
        }
        (Some(_), _) => {
            return Err(SpecError::new(
                &size_path,
                "only allowed for memory and block volumes",
            ));
        }
        (None, _) => {}
    }
    Ok(volume)
}

/// A uid or gid: a whole number 0..2³²-1.
fn id(node: &Node, path: &str) -> Result<u32, SpecError> {
    let number = node.as_int(path)?;
    u32::try_from(number).map_err(|_| {
        SpecError::new(
            path,
            format!("{number} is invalid: must be 0 to 4294967295"),
        )
    })
}

/// `metadataCache`: `90s`, `5m`, `1h30m45s`: numbers each followed by h, m or s, in that order.
fn metadata_cache(node: &Node, path: &str) -> Result<String, SpecError> {
    let text = node.as_text(path)?;
    let mut rest = text.as_str();
    let mut allowed_units = "hms";
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[digits..].chars().next();
        match unit.and_then(|unit| allowed_units.find(unit)) {
            Some(position) if digits > 0 => {
                allowed_units = &allowed_units[position + 1..];
                rest = &rest[digits + 1..];
            }
            _ => {
                return Err(SpecError::new(
                    path,
                    format!("'{text}' is invalid: must be a duration such as 90s, 5m or 1h30m45s"),
                ));
            }
        }
    }
    if text.is_empty() {
        return Err(SpecError::new(
            path,
            "'' is invalid: must be a duration such as 90s, 5m or 1h30m45s",
        ));
    }
    Ok(text)
}

fn log_level(node: &Node) -> Result<LogLevel, SpecError> {
    let exporters = Fields::new(node, "spec.logExporters", &["eventTableConfig"])?;
    let Some(config) = exporters.get("eventTableConfig") else {
        return Ok(LogLevel::Info);
    };
    let config = Fields::new(config, &exporters.at("eventTableConfig"), &["logLevel"])?;
    let Some(level) = config.get("logLevel") else {
        return Ok(LogLevel::Info);
    };
    let text = level.as_str(&config.at("logLevel"))?;
    match text.to_ascii_uppercase().as_str() {
        "INFO" => Ok(LogLevel::Info),
        "ERROR" => Ok(LogLevel::Error),
        "NONE" => Ok(LogLevel::None),
        _ => Err(SpecError::new(
            &config.at("logLevel"),
            format!("'{text}' is invalid: must be INFO, ERROR or NONE"),
        )),
    }
}

fn metric_groups(node: &Node) -> Result<Vec<String>, SpecError> {
    let monitor = Fields::new(node, "spec.platformMonitor", &["metricConfig"])?;
    let Some(config) = monitor.get("metricConfig") else {
        return Ok(Vec::new());
    };
    let config = Fields::new(config, &monitor.at("metricConfig"), &["groups"])?;
    let Some(groups) = config.get("groups") else {
        return Ok(Vec::new());
    };
    let groups_path = config.at("groups");
    let mut out: Vec<String> = Vec::new();
    for (idx, group) in groups.as_text_list(&groups_path)?.into_iter().enumerate() {
        let lower = group.to_ascii_lowercase();
        if !METRIC_GROUPS.contains(&lower.as_str()) {
            return Err(SpecError::new(
                &format!("{groups_path}[{idx}]"),
                format!(
                    "'{group}' is not a metric group: must be one of {}",
                    METRIC_GROUPS.join(", ")
                ),
            ));
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

fn capabilities(node: &Node) -> Result<Capabilities, SpecError> {
    let fields = Fields::new(node, "capabilities", &["securityContext"])?;
    let Some(context) = fields.get("securityContext") else {
        return Ok(Capabilities::default());
    };
    let context = Fields::new(
        context,
        &fields.at("securityContext"),
        &["executeAsCaller", "enableCustomCredentials"],
    )?;
    Ok(Capabilities {
        execute_as_caller: context.opt_bool("executeAsCaller")?.unwrap_or(false),
        enable_custom_credentials: context
            .opt_bool("enableCustomCredentials")?
            .unwrap_or(false),
    })
}

fn service_role(node: &Node, path: &str) -> Result<ServiceRole, SpecError> {
    let fields = Fields::new(node, path, &["name", "endpoints"])?;
    let endpoints_path = fields.at("endpoints");
    Ok(ServiceRole {
        name: fields.require("name")?.as_text(&fields.at("name"))?,
        endpoints: fields.require("endpoints")?.as_text_list(&endpoints_path)?,
    })
}

/// A node kept as written.
pub(crate) fn value(node: &Node) -> Value {
    match node {
        Node::Scalar(scalar) => match scalar.kind {
            ScalarKind::Null => Value::Null,
            ScalarKind::Bool(b) => Value::Bool(b),
            ScalarKind::Int(_) | ScalarKind::Float(_) => Value::Number(scalar.text.clone()),
            ScalarKind::Str => Value::Str(scalar.text.clone()),
        },
        Node::Seq(items) => Value::Seq(items.iter().map(value).collect()),
        Node::Map(entries) => {
            Value::Map(entries.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        }
    }
}
