//! Whole-spec rules (spcs.md §6, §12.1) over a parsed `Spec`: counts, name rules and duplicates,
//! images, endpoint port/protocol/public combinations, volume references and mount paths,
//! resources (GPU request = limit, request ≤ limit), session-token overlap, service roles.
//! `parse` runs it; a caller that edits a `Spec` may run it again. Paths use the plural keys.

use crate::SpecError;
use crate::image::parse_image;
use crate::model::{Container, Endpoint, Quantities, Spec, Volume};
use crate::name::{check_object_name, check_role_name};

/// At most this many containers per service.
pub const MAX_CONTAINERS: usize = 20;
/// At most this many endpoints per service.
pub const MAX_ENDPOINTS: usize = 100;
/// At most this many volumes per service.
pub const MAX_VOLUMES: usize = 20;
/// At most this many secrets per service (over all containers).
pub const MAX_SECRETS: usize = 50;

/// Checks every rule that spans fields or items. The first broken rule is the error.
pub fn validate(spec: &Spec) -> Result<(), SpecError> {
    if spec.containers.is_empty() {
        return Err(SpecError::new(
            "spec.containers",
            "at least one container is required",
        ));
    }
    check_count(
        "spec.containers",
        spec.containers.len(),
        MAX_CONTAINERS,
        "containers",
    )?;
    check_count(
        "spec.endpoints",
        spec.endpoints.len(),
        MAX_ENDPOINTS,
        "endpoints",
    )?;
    check_count("spec.volumes", spec.volumes.len(), MAX_VOLUMES, "volumes")?;
    let secrets: usize = spec.containers.iter().map(|c| c.secrets.len()).sum();
    check_count("spec.containers", secrets, MAX_SECRETS, "secrets")?;

    check_names(
        "spec.containers",
        spec.containers.iter().map(|c| c.name.as_str()),
    )?;
    check_names(
        "spec.endpoints",
        spec.endpoints.iter().map(|e| e.name.as_str()),
    )?;
    check_names("spec.volumes", spec.volumes.iter().map(|v| v.name.as_str()))?;

    for (idx, container) in spec.containers.iter().enumerate() {
        check_container(container, &spec.volumes, &format!("spec.containers[{idx}]"))?;
    }
    for (idx, endpoint) in spec.endpoints.iter().enumerate() {
        check_endpoint(endpoint, &format!("spec.endpoints[{idx}]"))?;
    }
    for (idx, volume) in spec.volumes.iter().enumerate() {
        if let Some(resources) = &volume.stage_resources {
            let path = format!("spec.volumes[{idx}].stageConfig.resources");
            check_quantities(&resources.requests, &resources.limits, &path)?;
        }
    }
    check_service_roles(spec)
}

fn check_count(path: &str, count: usize, max: usize, what: &str) -> Result<(), SpecError> {
    if count > max {
        return Err(SpecError::new(
            path,
            format!("{count} {what} exceed the limit of {max} per service"),
        ));
    }
    Ok(())
}

fn check_names<'a>(path: &str, names: impl Iterator<Item = &'a str>) -> Result<(), SpecError> {
    let mut seen: Vec<&str> = Vec::new();
    for (idx, name) in names.enumerate() {
        let name_path = format!("{path}[{idx}].name");
        check_object_name(name).map_err(|message| SpecError::new(&name_path, message))?;
        if seen.contains(&name) {
            return Err(SpecError::new(
                &name_path,
                format!("'{name}' is a duplicate name"),
            ));
        }
        seen.push(name);
    }
    Ok(())
}

fn check_container(container: &Container, volumes: &[Volume], path: &str) -> Result<(), SpecError> {
    parse_image(&container.image)
        .map_err(|message| SpecError::new(&format!("{path}.image"), message))?;
    let mut mount_paths: Vec<&str> = Vec::new();
    for (idx, mount) in container.volume_mounts.iter().enumerate() {
        let mount_path = format!("{path}.volumeMounts[{idx}]");
        if !volumes.iter().any(|volume| volume.name == mount.name) {
            return Err(SpecError::new(
                &format!("{mount_path}.name"),
                format!("'{}' is not a volume declared in spec.volumes", mount.name),
            ));
        }
        let dir = mount.mount_path.trim_end_matches('/');
        if mount_paths.contains(&dir) {
            return Err(SpecError::new(
                &format!("{mount_path}.mountPath"),
                format!(
                    "'{}' is mounted more than once in this container",
                    mount.mount_path
                ),
            ));
        }
        mount_paths.push(dir);
    }
    if let Some(config) = &container.session_token_config {
        let overlaps = |dir: &str| {
            dir == config.path
                || dir.starts_with(&format!("{}/", config.path))
                || config.path.starts_with(&format!("{dir}/"))
                || dir.is_empty()
        };
        if let Some(dir) = mount_paths.iter().find(|dir| overlaps(dir)) {
            return Err(SpecError::new(
                &format!("{path}.sessionTokenConfig.path"),
                format!(
                    "'{}' overlaps the volume mount '{}'",
                    config.path,
                    if dir.is_empty() { "/" } else { dir }
                ),
            ));
        }
    }
    let resources = &container.resources;
    check_quantities(
        &resources.requests,
        &resources.limits,
        &format!("{path}.resources"),
    )?;
    Ok(())
}

fn check_quantities(
    requests: &Quantities,
    limits: &Quantities,
    path: &str,
) -> Result<(), SpecError> {
    match (requests.gpu, limits.gpu) {
        (Some(request), Some(limit)) if request != limit => {
            return Err(SpecError::new(
                &format!("{path}.requests.nvidia.com/gpu"),
                format!(
                    "{request} GPUs requested but the limit is {limit}: request and limit must be equal"
                ),
            ));
        }
        (Some(_), None) => {
            return Err(SpecError::new(
                &format!("{path}.limits.nvidia.com/gpu"),
                "required with a GPU request, and equal to it",
            ));
        }
        (None, Some(_)) => {
            return Err(SpecError::new(
                &format!("{path}.requests.nvidia.com/gpu"),
                "required with a GPU limit, and equal to it",
            ));
        }
        _ => {}
    }
    if let (Some(request), Some(limit)) = (requests.cpu, limits.cpu)
        && request > limit
    {
        return Err(SpecError::new(
            &format!("{path}.requests.cpu"),
            format!("{request} exceeds the cpu limit {limit}"),
        ));
    }
    if let (Some(request), Some(limit)) = (requests.memory, limits.memory)
        && request > limit
    {
        return Err(SpecError::new(
            &format!("{path}.requests.memory"),
            format!("{request} bytes exceed the memory limit of {limit} bytes"),
        ));
    }
    Ok(())
}

fn check_endpoint(endpoint: &Endpoint, path: &str) -> Result<(), SpecError> {
    match (endpoint.port, endpoint.port_range) {
        (None, None) => return Err(SpecError::new(path, "one of port or portRange is required")),
        (Some(_), Some(_)) => {
            return Err(SpecError::new(
                path,
                "port and portRange cannot both be given",
            ));
        }
        (None, Some(_)) => {
            if endpoint.protocol != "TCP" {
                return Err(SpecError::new(
                    &format!("{path}.portRange"),
                    format!("only allowed with protocol TCP, not {}", endpoint.protocol),
                ));
            }
            if endpoint.public {
                return Err(SpecError::new(
                    &format!("{path}.portRange"),
                    "not allowed on a public endpoint",
                ));
            }
        }
        (Some(_), None) => {}
    }
    if endpoint.public && endpoint.protocol == "TCP" {
        return Err(SpecError::new(
            &format!("{path}.public"),
            "a public endpoint must use protocol HTTP, not TCP",
        ));
    }
    if endpoint.cors.is_some() && endpoint.protocol == "TCP" {
        return Err(SpecError::new(
            &format!("{path}.corsSettings"),
            "only allowed on an HTTP endpoint",
        ));
    }
    Ok(())
}

fn check_service_roles(spec: &Spec) -> Result<(), SpecError> {
    let mut seen: Vec<String> = Vec::new();
    for (idx, role) in spec.service_roles.iter().enumerate() {
        let path = format!("serviceRoles[{idx}]");
        check_role_name(&role.name)
            .map_err(|message| SpecError::new(&format!("{path}.name"), message))?;
        let upper = role.name.to_ascii_uppercase();
        if upper == "ALL_ENDPOINTS_USAGE" || seen.contains(&upper) {
            return Err(SpecError::new(
                &format!("{path}.name"),
                format!("'{}' is a duplicate or reserved role name", role.name),
            ));
        }
        seen.push(upper);
        if role.endpoints.is_empty() {
            return Err(SpecError::new(
                &format!("{path}.endpoints"),
                "at least one endpoint is required",
            ));
        }
        for (endpoint_idx, name) in role.endpoints.iter().enumerate() {
            if !spec.endpoints.iter().any(|endpoint| endpoint.name == *name) {
                return Err(SpecError::new(
                    &format!("{path}.endpoints[{endpoint_idx}]"),
                    format!("'{name}' is not an endpoint declared in spec.endpoints"),
                ));
            }
        }
    }
    Ok(())
}
