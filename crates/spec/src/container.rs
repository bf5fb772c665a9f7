//! From a `spec.containers[i]` YAML node to a `Container` (spcs.md §6.1, §6.3): image, command and
//! args, env (numbers and booleans as text, spec order), probes with their defaults, volume mounts,
//! resources (quantities parsed here), `mountSessionToken` / `sessionTokenConfig` and secrets.
//! Checks that need only the container's own fields live here; cross-container rules (names,
//! references to volumes, secret counts) are in `validate.rs`.

use crate::SpecError;
use crate::model::{
    Container, FAILURE_THRESHOLD, LIVENESS_PERIOD_SECS, Probe, Quantities, READINESS_PERIOD_SECS,
    Resources, SESSION_TOKEN_DIR, SESSION_TOKEN_PERMISSION, SecretRef, SessionTokenConfig,
    VolumeMount,
};
use crate::node::{Fields, Node, ScalarKind};
use crate::parse::port;
use crate::quantity::{parse_quantity_cpu, parse_quantity_memory};

/// The keys `secretKeyRef` may name.
pub(crate) const SECRET_KEYS: &[&str] = &["username", "password", "secret_string", "access_token"];

pub(crate) fn container(node: &Node, path: &str) -> Result<Container, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &[
            "name",
            "image",
            "command",
            "args",
            "env",
            "readinessProbe",
            "livenessProbe",
            "volumeMounts",
            "resources",
            "mountSessionToken",
            "sessionTokenConfig",
            "secrets",
        ],
    )?;
    let list = |key: &str| {
        fields
            .get(key)
            .map(|node| node.as_text_list(&fields.at(key)))
            .transpose()
    };
    let mut container = Container {
        name: fields.require("name")?.as_text(&fields.at("name"))?,
        image: fields.require("image")?.as_str(&fields.at("image"))?,
        command: list("command")?,
        args: list("args")?,
        mount_session_token: fields.opt_bool("mountSessionToken")?.unwrap_or(true),
        ..Container::default()
    };
    if let Some(env) = fields.get("env") {
        let env_path = fields.at("env");
        for (key, value) in env.as_map(&env_path)? {
            let value_path = format!("{env_path}.{key}");
            let text = match value {
                Node::Scalar(scalar) if scalar.kind != ScalarKind::Null => scalar.text.clone(),
                other => {
                    return Err(SpecError::new(
                        &value_path,
                        format!(
                            "expected a string, number or boolean, found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            container.env.push((key.clone(), text));
        }
    }
    container.readiness_probe = fields
        .get("readinessProbe")
        .map(|node| probe(node, &fields.at("readinessProbe"), READINESS_PERIOD_SECS))
        .transpose()?;
    container.liveness_probe = fields
        .get("livenessProbe")
        .map(|node| probe(node, &fields.at("livenessProbe"), LIVENESS_PERIOD_SECS))
        .transpose()?;
    if let Some(mounts) = fields.get("volumeMounts") {
        let mounts_path = fields.at("volumeMounts");
        for (idx, item) in mounts.as_seq(&mounts_path)?.iter().enumerate() {
            container
                .volume_mounts
                .push(volume_mount(item, &format!("{mounts_path}[{idx}]"))?);
        }
    }
    if let Some(node) = fields.get("resources") {
        container.resources = resources(node, &fields.at("resources"))?;
    }
    if let Some(node) = fields.get("sessionTokenConfig") {
        let config_path = fields.at("sessionTokenConfig");
        if !container.mount_session_token {
            return Err(SpecError::new(
                &config_path,
                "not allowed when mountSessionToken is false",
            ));
        }
        container.session_token_config = Some(session_token_config(node, &config_path)?);
    }
    if let Some(secrets) = fields.get("secrets") {
        let secrets_path = fields.at("secrets");
        for (idx, item) in secrets.as_seq(&secrets_path)?.iter().enumerate() {
            container
                .secrets
                .push(secret(item, &format!("{secrets_path}[{idx}]"))?);
        }
    }
    Ok(container)
}

fn probe(node: &Node, path: &str, default_period: u32) -> Result<Probe, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &["port", "path", "periodSeconds", "failureThreshold"],
    )?;
    let http_path = fields.require("path")?.as_text(&fields.at("path"))?;
    if !http_path.starts_with('/') {
        return Err(SpecError::new(
            &fields.at("path"),
            format!("'{http_path}' is invalid: must start with '/'"),
        ));
    }
    let positive = |key: &str, default: u32| -> Result<u32, SpecError> {
        let Some(node) = fields.get(key) else {
            return Ok(default);
        };
        let number = node.as_int(&fields.at(key))?;
        u32::try_from(number)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                SpecError::new(
                    &fields.at(key),
                    format!("{number} is invalid: must be a positive whole number"),
                )
            })
    };
    Ok(Probe {
        port: port(fields.require("port")?, &fields.at("port"))?,
        path: http_path,
        period_secs: positive("periodSeconds", default_period)?,
        failure_threshold: positive("failureThreshold", FAILURE_THRESHOLD)?,
    })
}

fn volume_mount(node: &Node, path: &str) -> Result<VolumeMount, SpecError> {
    let fields = Fields::new(node, path, &["name", "mountPath"])?;
    let mount_path = fields
        .require("mountPath")?
        .as_text(&fields.at("mountPath"))?;
    if !mount_path.starts_with('/') {
        return Err(SpecError::new(
            &fields.at("mountPath"),
            format!("'{mount_path}' is invalid: must be an absolute path"),
        ));
    }
    Ok(VolumeMount {
        name: fields.require("name")?.as_text(&fields.at("name"))?,
        mount_path,
    })
}

/// `resources` of a container or of a stage volume's sidecar.
pub(crate) fn resources(node: &Node, path: &str) -> Result<Resources, SpecError> {
    let fields = Fields::new(node, path, &["requests", "limits"])?;
    let quantities = |key: &str| {
        fields
            .get(key)
            .map(|node| self::quantities(node, &fields.at(key)))
            .transpose()
    };
    Ok(Resources {
        requests: quantities("requests")?.unwrap_or_default(),
        limits: quantities("limits")?.unwrap_or_default(),
    })
}

fn quantities(node: &Node, path: &str) -> Result<Quantities, SpecError> {
    let fields = Fields::new(node, path, &["cpu", "memory", "nvidia.com/gpu"])?;
    let text = |key: &str| {
        fields
            .get(key)
            .map(|node| {
                node.as_text(&fields.at(key))
                    .map(|text| (text, fields.at(key)))
            })
            .transpose()
    };
    let cpu = match text("cpu")? {
        Some((text, at)) => {
            Some(parse_quantity_cpu(&text).map_err(|message| SpecError::new(&at, message))?)
        }
        None => None,
    };
    let memory = match text("memory")? {
        Some((text, at)) => {
            Some(parse_quantity_memory(&text).map_err(|message| SpecError::new(&at, message))?)
        }
        None => None,
    };
    let gpu = match fields.get("nvidia.com/gpu") {
        Some(node) => {
            let at = fields.at("nvidia.com/gpu");
            let number = node.as_int(&at)?;
            Some(u32::try_from(number).map_err(|_| {
                SpecError::new(
                    &at,
                    format!("{number} is invalid: must be a whole number of GPUs"),
                )
            })?)
        }
        None => None,
    };
    Ok(Quantities { cpu, memory, gpu })
}

fn session_token_config(node: &Node, path: &str) -> Result<SessionTokenConfig, SpecError> {
    let fields = Fields::new(node, path, &["path", "permission", "mountConnectionConfig"])?;
    let mut config = SessionTokenConfig {
        mount_connection_config: fields.opt_bool("mountConnectionConfig")?.unwrap_or(false),
        ..SessionTokenConfig::default()
    };
    if let Some(node) = fields.get("path") {
        let dir = node.as_str(&fields.at("path"))?;
        check_token_path(&dir).map_err(|why| {
            SpecError::new(&fields.at("path"), format!("'{dir}' is invalid: {why}"))
        })?;
        config.path = dir;
    }
    if let Some(node) = fields.get("permission") {
        let at = fields.at("permission");
        if !fields.has("path") {
            return Err(SpecError::new(&at, "only allowed together with path"));
        }
        config.permission = permission(node, &at)?;
    }
    debug_assert!(config.path.starts_with('/') && config.permission <= SESSION_TOKEN_PERMISSION);
    Ok(config)
}

/// Absolute, normalized (no `.`/`..` parts, no `//`, no trailing `/`), `[A-Za-z0-9/_.-]` only.
fn check_token_path(dir: &str) -> Result<(), &'static str> {
    if !dir.starts_with('/') {
        return Err("must be an absolute path");
    }
    if !dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
    {
        return Err("may only contain letters, digits, '/', '_', '.' and '-'");
    }
    if dir == "/"
        || dir.ends_with('/')
        || dir[1..]
            .split('/')
            .any(|part| matches!(part, "" | "." | ".."))
    {
        return Err("must be a normalized directory path (no '.', '..', '//' or trailing '/')");
    }
    if dir != SESSION_TOKEN_DIR && (dir == "/snowflake" || dir.starts_with("/snowflake/")) {
        return Err("is under /snowflake, which is reserved");
    }
    Ok(())
}

/// A quoted 4-digit octal file mode that keeps owner read and grants nothing beyond 0644.
fn permission(node: &Node, path: &str) -> Result<u32, SpecError> {
    let rule =
        "must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644";
    let text = match node {
        Node::Scalar(scalar) if scalar.quoted => scalar.text.clone(),
        Node::Scalar(scalar) => {
            return Err(SpecError::new(
                path,
                format!("{} is invalid: {rule}", scalar.text),
            ));
        }
        other => {
            return Err(SpecError::new(
                path,
                format!("expected a string, found {}", other.describe()),
            ));
        }
    };
    let mode = (text.len() == 4 && text.starts_with('0'))
        .then(|| u32::from_str_radix(&text, 8).ok())
        .flatten()
        .filter(|mode| mode & 0o400 != 0 && mode & !SESSION_TOKEN_PERMISSION == 0);
    mode.ok_or_else(|| SpecError::new(path, format!("'{text}' is invalid: {rule}")))
}

fn secret(node: &Node, path: &str) -> Result<SecretRef, SpecError> {
    let fields = Fields::new(
        node,
        path,
        &[
            "snowflakeSecret",
            "envVarName",
            "secretKeyRef",
            "directoryPath",
        ],
    )?;
    let secret_path = fields.at("snowflakeSecret");
    let (object_name, object_reference) = match fields.require("snowflakeSecret")? {
        Node::Map(_) => {
            let object = Fields::new(
                fields.require("snowflakeSecret")?,
                &secret_path,
                &["objectName", "objectReference"],
            )?;
            match (object.get("objectName"), object.get("objectReference")) {
                (Some(name), None) => (name.as_text(&object.at("objectName"))?, false),
                (None, Some(reference)) => {
                    (reference.as_text(&object.at("objectReference"))?, true)
                }
                _ => {
                    return Err(SpecError::new(
                        &secret_path,
                        "exactly one of objectName or objectReference is required",
                    ));
                }
            }
        }
        other => (other.as_str(&secret_path)?, false),
    };
    if object_name.trim().is_empty() {
        return Err(SpecError::new(&secret_path, "the secret name is empty"));
    }
    let secret = SecretRef {
        object_name,
        object_reference,
        env_var_name: fields
            .get("envVarName")
            .map(|node| node.as_text(&fields.at("envVarName")))
            .transpose()?,
        secret_key_ref: fields
            .get("secretKeyRef")
            .map(|node| node.as_text(&fields.at("secretKeyRef")))
            .transpose()?,
        directory_path: fields
            .get("directoryPath")
            .map(|node| node.as_text(&fields.at("directoryPath")))
            .transpose()?,
    };
    match (
        &secret.env_var_name,
        &secret.secret_key_ref,
        &secret.directory_path,
    ) {
        (Some(env), Some(key), None) => {
            let env_ok = env.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !env_ok {
                return Err(SpecError::new(
                    &fields.at("envVarName"),
                    format!("'{env}' is not a valid environment variable name"),
                ));
            }
            if !SECRET_KEYS.contains(&key.as_str()) {
                return Err(SpecError::new(
                    &fields.at("secretKeyRef"),
                    format!(
                        "'{key}' is invalid: must be one of {}",
                        SECRET_KEYS.join(", ")
                    ),
                ));
            }
        }
        (None, None, Some(dir)) => {
            if !dir.starts_with('/') {
                return Err(SpecError::new(
                    &fields.at("directoryPath"),
                    format!("'{dir}' is invalid: must be an absolute path"),
                ));
            }
        }
        (Some(_), None, None) => {
            return Err(SpecError::new(
                &fields.at("secretKeyRef"),
                "required with envVarName",
            ));
        }
        (None, Some(_), None) => {
            return Err(SpecError::new(
                &fields.at("envVarName"),
                "required with secretKeyRef",
            ));
        }
        (None, None, None) => {
            return Err(SpecError::new(
                path,
                "one of envVarName (with secretKeyRef) or directoryPath is required",
            ));
        }
        _ => {
            return Err(SpecError::new(
                path,
                "envVarName/secretKeyRef and directoryPath cannot both be given",
            ));
        }
    }
    Ok(secret)
}
