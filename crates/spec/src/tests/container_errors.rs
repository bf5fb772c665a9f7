//! Error paths inside `spec.containers[i]`: names and images, probes, volume mounts, resources,
//! `sessionTokenConfig` and secrets, each with its exact text.

use crate::tests::errors::{check, check_container, doc};

#[test]
fn container_names_and_images() {
    check(
        "spec:\n  containers:\n  - name: Echo_1\n    image: /db/sch/repo/img\n",
        "spec.containers[0].name: 'Echo_1' is invalid: must be lowercase alphanumerics or '-', start with a letter and end with an alphanumeric",
    );
    check(
        &format!(
            "spec:\n  containers:\n  - name: {}\n    image: /db/sch/repo/img\n",
            "a".repeat(64)
        ),
        &format!(
            "spec.containers[0].name: '{}' is invalid: must be at most 63 characters",
            "a".repeat(64)
        ),
    );
    check(
        "spec:\n  containers:\n  - {name: a, image: /d/s/r/i}\n  - {name: a, image: /d/s/r/i}\n",
        "spec.containers[1].name: 'a' is a duplicate name",
    );
    check(
        "spec:\n  containers:\n  - {image: /d/s/r/i}\n",
        "spec.containers[0].name: required",
    );
    check(
        "spec:\n  containers:\n  - {name: a, image: /d/s/r/i}\n  - {name: b}\n",
        "spec.containers[1].image: required",
    );
    check(
        "spec:\n  containers:\n  - {name: a, image: nginx}\n",
        "spec.containers[0].image: 'nginx' is not a valid image name: expected /<db>/<schema>/<repository>/<image>[:<tag>] or <registry host>/<db>/<schema>/<repository>/<image>[:<tag>]",
    );
    check(
        "spec:\n  containers:\n  - {name: a, image: 12}\n",
        "spec.containers[0].image: expected a string, found a number",
    );
    check_container(
        "imagePullPolicy: Always",
        "spec.containers[0].imagePullPolicy: unknown field 'imagePullPolicy', expected one of: name, image, command, args, env, readinessProbe, livenessProbe, volumeMounts, resources, mountSessionToken, sessionTokenConfig, secrets",
    );
    check_container(
        "command: python3",
        "spec.containers[0].command: expected a list, found a string",
    );
    check_container(
        "args: [a, [b]]",
        "spec.containers[0].args[1]: expected a string, found a list",
    );
    check_container(
        "env: [A]",
        "spec.containers[0].env: expected a mapping, found a list",
    );
    check_container(
        "env: {A: [1]}",
        "spec.containers[0].env.A: expected a string, number or boolean, found a list",
    );
    check_container(
        "env: {A: }",
        "spec.containers[0].env.A: expected a string, number or boolean, found null",
    );
    check_container(
        "mountSessionToken: 1",
        "spec.containers[0].mountSessionToken: expected true or false, found a number",
    );
}

#[test]
fn probes() {
    check_container(
        "readinessProbe: {path: /h}",
        "spec.containers[0].readinessProbe.port: required",
    );
    check_container(
        "readinessProbe: {port: 80}",
        "spec.containers[0].readinessProbe.path: required",
    );
    check_container(
        "readinessProbe: {port: 0, path: /h}",
        "spec.containers[0].readinessProbe.port: 0 is not a valid port: must be 1 to 65535",
    );
    check_container(
        "livenessProbe: {port: 70000, path: /h}",
        "spec.containers[0].livenessProbe.port: 70000 is not a valid port: must be 1 to 65535",
    );
    check_container(
        "readinessProbe: {port: http, path: /h}",
        "spec.containers[0].readinessProbe.port: 'http' is not a whole number",
    );
    check_container(
        "readinessProbe: {port: 80, path: h}",
        "spec.containers[0].readinessProbe.path: 'h' is invalid: must start with '/'",
    );
    check_container(
        "livenessProbe: {port: 80, path: /h, periodSeconds: 0}",
        "spec.containers[0].livenessProbe.periodSeconds: 0 is invalid: must be a positive whole number",
    );
    check_container(
        "livenessProbe: {port: 80, path: /h, failureThreshold: -1}",
        "spec.containers[0].livenessProbe.failureThreshold: -1 is invalid: must be a positive whole number",
    );
    check_container(
        "readinessProbe: {port: 80, path: /h, timeoutSeconds: 1}",
        "spec.containers[0].readinessProbe.timeoutSeconds: unknown field 'timeoutSeconds', expected one of: port, path, periodSeconds, failureThreshold",
    );
}

#[test]
fn volume_mounts() {
    check_container(
        "volumeMounts: [{name: data, mountPath: /data}]",
        "spec.containers[0].volumeMounts[0].name: 'data' is not a volume declared in spec.volumes",
    );
    check(
        &doc(
            "volumeMounts: [{name: data, mountPath: data}]",
            "volumes: [{name: data, source: local}]",
        ),
        "spec.containers[0].volumeMounts[0].mountPath: 'data' is invalid: must be an absolute path",
    );
    check(
        &doc(
            "volumeMounts: [{name: data}]",
            "volumes: [{name: data, source: local}]",
        ),
        "spec.containers[0].volumeMounts[0].mountPath: required",
    );
    check(
        &doc(
            "volumeMounts: [{name: data, mountPath: /d}, {name: data, mountPath: /d/}]",
            "volumes: [{name: data, source: local}]",
        ),
        "spec.containers[0].volumeMounts[1].mountPath: '/d/' is mounted more than once in this container",
    );
}

#[test]
fn resources() {
    check_container(
        "resources: {requests: {memory: 512}}",
        "spec.containers[0].resources.requests.memory: '512' is not a valid memory quantity: it needs a unit such as M, Mi, G or Gi (e.g. 512Mi)",
    );
    check_container(
        "resources: {limits: {cpu: lots}}",
        "spec.containers[0].resources.limits.cpu: 'lots' is not a valid cpu quantity (e.g. 0.5, 1 or 500m)",
    );
    check_container(
        "resources: {requests: {disk: 1Gi}}",
        "spec.containers[0].resources.requests.disk: unknown field 'disk', expected one of: cpu, memory, nvidia.com/gpu",
    );
    check_container(
        "resources: {request: {}}",
        "spec.containers[0].resources.request: unknown field 'request', expected one of: requests, limits",
    );
    check_container(
        "resources: {requests: {nvidia.com/gpu: 1}}",
        "spec.containers[0].resources.limits.nvidia.com/gpu: required with a GPU request, and equal to it",
    );
    check_container(
        "resources: {limits: {nvidia.com/gpu: 1}}",
        "spec.containers[0].resources.requests.nvidia.com/gpu: required with a GPU limit, and equal to it",
    );
    check_container(
        "resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}",
        "spec.containers[0].resources.requests.nvidia.com/gpu: 1 GPUs requested but the limit is 2: request and limit must be equal",
    );
    check_container(
        "resources: {requests: {nvidia.com/gpu: -1}, limits: {nvidia.com/gpu: -1}}",
        "spec.containers[0].resources.requests.nvidia.com/gpu: -1 is invalid: must be a whole number of GPUs",
    );
    check_container(
        "resources: {requests: {cpu: 2}, limits: {cpu: 1}}",
        "spec.containers[0].resources.requests.cpu: 2 exceeds the cpu limit 1",
    );
    check_container(
        "resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}",
        "spec.containers[0].resources.requests.memory: 2147483648 bytes exceed the memory limit of 1073741824 bytes",
    );
}

#[test]
fn session_token_config() {
    let at = "spec.containers[0].sessionTokenConfig";
    check_container(
        "mountSessionToken: false\nsessionTokenConfig: {mountConnectionConfig: true}",
        &format!("{at}: not allowed when mountSessionToken is false"),
    );
    check_container(
        "sessionTokenConfig: {path: /t, permission: 0640}",
        &format!(
            "{at}.permission: 0640 is invalid: must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /t, permission: \"0755\"}",
        &format!(
            "{at}.permission: '0755' is invalid: must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /t, permission: \"0244\"}",
        &format!(
            "{at}.permission: '0244' is invalid: must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /t, permission: \"644\"}",
        &format!(
            "{at}.permission: '644' is invalid: must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /t, permission: \"0648\"}",
        &format!(
            "{at}.permission: '0648' is invalid: must be a quoted 4-digit octal mode such as \"0640\", with owner read and at most 0644"
        ),
    );
    check_container(
        "sessionTokenConfig: {permission: \"0600\"}",
        &format!("{at}.permission: only allowed together with path"),
    );
    check_container(
        "sessionTokenConfig: {path: t}",
        &format!("{at}.path: 't' is invalid: must be an absolute path"),
    );
    check_container(
        "sessionTokenConfig: {path: /a/../b}",
        &format!(
            "{at}.path: '/a/../b' is invalid: must be a normalized directory path (no '.', '..', '//' or trailing '/')"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /a/}",
        &format!(
            "{at}.path: '/a/' is invalid: must be a normalized directory path (no '.', '..', '//' or trailing '/')"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /a//b}",
        &format!(
            "{at}.path: '/a//b' is invalid: must be a normalized directory path (no '.', '..', '//' or trailing '/')"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /a b}",
        &format!(
            "{at}.path: '/a b' is invalid: may only contain letters, digits, '/', '_', '.' and '-'"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /snowflake/other}",
        &format!(
            "{at}.path: '/snowflake/other' is invalid: is under /snowflake, which is reserved"
        ),
    );
    check_container(
        "sessionTokenConfig: {path: /t, mode: 1}",
        &format!(
            "{at}.mode: unknown field 'mode', expected one of: path, permission, mountConnectionConfig"
        ),
    );
    check(
        &doc(
            "volumeMounts: [{name: data, mountPath: /run}]\nsessionTokenConfig: {path: /run/token}",
            "volumes: [{name: data, source: local}]",
        ),
        &format!("{at}.path: '/run/token' overlaps the volume mount '/run'"),
    );
}

#[test]
fn secrets() {
    let at = "spec.containers[0].secrets[0]";
    check_container(
        "secrets: [{envVarName: A, secretKeyRef: password}]",
        &format!("{at}.snowflakeSecret: required"),
    );
    check_container(
        "secrets: [{snowflakeSecret: {objectName: a, objectReference: b}, directoryPath: /s}]",
        &format!("{at}.snowflakeSecret: exactly one of objectName or objectReference is required"),
    );
    check_container(
        "secrets: [{snowflakeSecret: {name: a}, directoryPath: /s}]",
        &format!(
            "{at}.snowflakeSecret.name: unknown field 'name', expected one of: objectName, objectReference"
        ),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, envVarName: A}]",
        &format!("{at}.secretKeyRef: required with envVarName"),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, secretKeyRef: password}]",
        &format!("{at}.envVarName: required with secretKeyRef"),
    );
    check_container(
        "secrets: [{snowflakeSecret: s}]",
        &format!("{at}: one of envVarName (with secretKeyRef) or directoryPath is required"),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, envVarName: A, secretKeyRef: password, directoryPath: /s}]",
        &format!("{at}: envVarName/secretKeyRef and directoryPath cannot both be given"),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, envVarName: A, secretKeyRef: token}]",
        &format!(
            "{at}.secretKeyRef: 'token' is invalid: must be one of username, password, secret_string, access_token"
        ),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, envVarName: 1A, secretKeyRef: password}]",
        &format!("{at}.envVarName: '1A' is not a valid environment variable name"),
    );
    check_container(
        "secrets: [{snowflakeSecret: s, directoryPath: s}]",
        &format!("{at}.directoryPath: 's' is invalid: must be an absolute path"),
    );
    check_container(
        "secrets: [{snowflakeSecret: '', directoryPath: /s}]",
        &format!("{at}.snowflakeSecret: the secret name is empty"),
    );
}
