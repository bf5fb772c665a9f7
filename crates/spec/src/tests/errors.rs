//! Every error path of `parse`, with its exact text: the YAML path, then what is wrong with the
//! offending value. Each case is a small valid spec with one thing broken. Document, spec-level,
//! limits, endpoints, volumes and service roles here; containers in `container_errors.rs`.

use crate::parse;

/// A valid one-container spec, with `container` lines added to the container and `rest` lines
/// added under `spec:` (both written without their indentation).
pub(super) fn doc(container: &str, rest: &str) -> String {
    let indent = |text: &str, n: usize| -> String {
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    };
    format!(
        "spec:\n  containers:\n  - name: main\n    image: /db/sch/repo/img:1\n{}{}",
        indent(container, 4),
        indent(rest, 2)
    )
}

#[track_caller]
pub(super) fn check(text: &str, expected: &str) {
    match parse(text) {
        Ok(_) => panic!("expected `{expected}`, but the spec was accepted:\n{text}"),
        Err(err) => assert_eq!(err.to_string(), expected, "\n{text}"),
    }
}

#[track_caller]
pub(super) fn check_container(lines: &str, expected: &str) {
    check(&doc(lines, ""), expected);
}

#[track_caller]
pub(super) fn check_spec(lines: &str, expected: &str) {
    check(&doc("", lines), expected);
}

#[test]
fn the_helper_builds_a_valid_spec() {
    assert!(parse(&doc("env: {A: 1}", "endpoints:\n- {name: e, port: 80}")).is_ok());
}

#[test]
fn document_level() {
    let err = parse("spec: [1, 2\n").unwrap_err();
    assert_eq!(err.path, "");
    assert!(
        err.message.starts_with("invalid YAML: ") && err.message.contains("line"),
        "{err}"
    );
    check("", "the specification is empty");
    check("a: 1\n---\nb: 2\n", "expected one YAML document, found 2");
    check("- 1\n", "expected a mapping, found a list");
    check("capabilities: {}\n", "spec: required");
    check("spec: [1]\n", "spec: expected a mapping, found a list");
    check(
        "spec: {containers: []}\nspecs: 1\n",
        "specs: unknown field 'specs', expected one of: spec, capabilities, serviceRoles",
    );
    check(
        "spec:\n  containers: []\n  containers: []\n",
        "invalid YAML: duplicated key in mapping at line 3 column 3",
    );
    check(
        &doc("env:\n  A: 1\n  \"A\": 2", ""),
        "spec.containers[0].env.A: duplicate key",
    );
}

#[test]
fn spec_level() {
    check_spec(
        "contaners: []",
        "spec.contaners: unknown field 'contaners', expected one of: containers, container, endpoints, \
         endpoint, volumes, logExporters, platformMonitor, resourceManagement, networkPolicyConfig",
    );
    check("spec:\n  endpoints: []\n", "spec.containers: required");
    check(
        "spec:\n  containers: []\n",
        "spec.containers: at least one container is required",
    );
    check(
        "spec:\n  containers: {}\n",
        "spec.containers: expected a list, found a mapping",
    );
    check(
        "spec:\n  containers: []\n  container: []\n",
        "spec: 'containers' and 'container' cannot both be given",
    );
    check_spec(
        "logExporters: {eventTableConfig: {logLevel: DEBUG}}",
        "spec.logExporters.eventTableConfig.logLevel: 'DEBUG' is invalid: must be INFO, ERROR or NONE",
    );
    check_spec(
        "logExporters: {other: 1}",
        "spec.logExporters.other: unknown field 'other', expected one of: eventTableConfig",
    );
    check_spec(
        "platformMonitor: {metricConfig: {groups: [system, gpu]}}",
        "spec.platformMonitor.metricConfig.groups[1]: 'gpu' is not a metric group: must be one of system, system_limits, status, network, storage",
    );
    check_spec(
        "networkPolicyConfig: {allowInternetEgress: yes}",
        "spec.networkPolicyConfig.allowInternetEgress: expected true or false, found a string",
    );
}

#[test]
fn limits() {
    let containers: String = (0..21)
        .map(|i| format!("  - {{name: c{i}, image: /db/sch/repo/img}}\n"))
        .collect();
    check(
        &format!("spec:\n  containers:\n{containers}"),
        "spec.containers: 21 containers exceed the limit of 20 per service",
    );
    let endpoints: String = (0..101)
        .map(|i| format!("- {{name: e{i}, port: {}}}\n", 1000 + i))
        .collect();
    check_spec(
        &format!("endpoints:\n{endpoints}"),
        "spec.endpoints: 101 endpoints exceed the limit of 100 per service",
    );
    let volumes: String = (0..21)
        .map(|i| format!("- {{name: v{i}, source: local}}\n"))
        .collect();
    check_spec(
        &format!("volumes:\n{volumes}"),
        "spec.volumes: 21 volumes exceed the limit of 20 per service",
    );
    let secrets: String = (0..51)
        .map(|i| format!("- {{snowflakeSecret: s{i}, directoryPath: /s/{i}}}\n"))
        .collect();
    check_container(
        &format!("secrets:\n{secrets}"),
        "spec.containers: 51 secrets exceed the limit of 50 per service",
    );
}

#[test]
fn endpoints() {
    check_spec(
        "endpoints: [{port: 80}]",
        "spec.endpoints[0].name: required",
    );
    check_spec(
        "endpoints: [{name: Api, port: 80}]",
        "spec.endpoints[0].name: 'Api' is invalid: must be lowercase alphanumerics or '-', start with a letter and end with an alphanumeric",
    );
    check_spec(
        "endpoints: [{name: a, port: 80}, {name: a, port: 81}]",
        "spec.endpoints[1].name: 'a' is a duplicate name",
    );
    check_spec(
        "endpoints: [{name: a, port: 0}]",
        "spec.endpoints[0].port: 0 is not a valid port: must be 1 to 65535",
    );
    check_spec(
        "endpoints: [{name: a}]",
        "spec.endpoints[0]: one of port or portRange is required",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, portRange: 81-82, protocol: TCP}]",
        "spec.endpoints[0]: port and portRange cannot both be given",
    );
    check_spec(
        "endpoints: [{name: a, portRange: 81-82}]",
        "spec.endpoints[0].portRange: only allowed with protocol TCP, not HTTP",
    );
    check_spec(
        "endpoints: [{name: a, portRange: 81-82, protocol: TCP, public: true}]",
        "spec.endpoints[0].portRange: not allowed on a public endpoint",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, protocol: TCP, public: true}]",
        "spec.endpoints[0].public: a public endpoint must use protocol HTTP, not TCP",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, protocol: UDP}]",
        "spec.endpoints[0].protocol: 'UDP' is invalid: must be HTTP, HTTPS or TCP",
    );
    check_spec(
        "endpoints: [{name: a, portRange: \"9000\", protocol: TCP}]",
        "spec.endpoints[0].portRange: '9000' is invalid: must be \"<low>-<high>\" with ports 1 to 65535",
    );
    check_spec(
        "endpoints: [{name: a, portRange: 90-80, protocol: TCP}]",
        "spec.endpoints[0].portRange: '90-80' is invalid: the low port is above the high port",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, public: yes}]",
        "spec.endpoints[0].public: expected true or false, found a string",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, corsSettings: {Access-Control-Allow-Methods: [GET]}}]",
        "spec.endpoints[0].corsSettings.Access-Control-Allow-Origin: required",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, corsSettings: {Access-Control-Allow-Origin: []}}]",
        "spec.endpoints[0].corsSettings.Access-Control-Allow-Origin: required: at least one origin",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, corsSettings: {Access-Control-Allow-Origin: [\"*\"]}}]",
        "spec.endpoints[0].corsSettings.Access-Control-Allow-Origin[0]: '*' is not allowed: name each origin",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, protocol: TCP, corsSettings: {Access-Control-Allow-Origin: [\"https://x\"]}}]",
        "spec.endpoints[0].corsSettings: only allowed on an HTTP endpoint",
    );
    check_spec(
        "endpoints: [{name: a, port: 80, path: /x}]",
        "spec.endpoints[0].path: unknown field 'path', expected one of: name, port, portRange, public, protocol, corsSettings",
    );
}

#[test]
fn volumes() {
    check_spec("volumes: [{name: v}]", "spec.volumes[0].source: required");
    check_spec(
        "volumes: [{name: v, source: nfs}]",
        "spec.volumes[0].source: 'nfs' is invalid: must be local, memory, stage, block or \"@<stage>\"",
    );
    check_spec(
        "volumes: [{name: V, source: local}]",
        "spec.volumes[0].name: 'V' is invalid: must be lowercase alphanumerics or '-', start with a letter and end with an alphanumeric",
    );
    check_spec(
        "volumes: [{name: v, source: local}, {name: v, source: local}]",
        "spec.volumes[1].name: 'v' is a duplicate name",
    );
    check_spec(
        "volumes: [{name: v, source: memory}]",
        "spec.volumes[0].size: required for a memory volume",
    );
    check_spec(
        "volumes: [{name: v, source: block}]",
        "spec.volumes[0].size: required for a block volume",
    );
    check_spec(
        "volumes: [{name: v, source: block, size: 1500M}]",
        "spec.volumes[0].size: '1500M' is invalid: a block volume's size must be a whole number of Gi (e.g. 10Gi)",
    );
    check_spec(
        "volumes: [{name: v, source: memory, size: 2}]",
        "spec.volumes[0].size: '2' is not a valid memory quantity: it needs a unit such as M, Mi, G or Gi (e.g. 512Mi)",
    );
    check_spec(
        "volumes: [{name: v, source: local, size: 1Gi}]",
        "spec.volumes[0].size: only allowed for memory and block volumes",
    );
    check_spec(
        "volumes: [{name: v, source: stage}]",
        "spec.volumes[0].stageConfig: required for a stage volume",
    );
    check_spec(
        "volumes: [{name: v, source: stage, stageConfig: {name: stage}}]",
        "spec.volumes[0].stageConfig.name: 'stage' is invalid: must be a stage such as \"@db.schema.stage/path\"",
    );
    check_spec(
        "volumes: [{name: v, source: stage, stageConfig: {name: \"@s\", metadataCache: 1d}}]",
        "spec.volumes[0].stageConfig.metadataCache: '1d' is invalid: must be a duration such as 90s, 5m or 1h30m45s",
    );
    check_spec(
        "volumes: [{name: v, source: stage, stageConfig: {name: \"@s\", metadataCache: 5m1h}}]",
        "spec.volumes[0].stageConfig.metadataCache: '5m1h' is invalid: must be a duration such as 90s, 5m or 1h30m45s",
    );
    check_spec(
        "volumes: [{name: v, source: stage, stageConfig: {name: \"@s\", resources: {requests: {cpu: 2}, limits: {cpu: 1}}}}]",
        "spec.volumes[0].stageConfig.resources.requests.cpu: 2 exceeds the cpu limit 1",
    );
    check_spec(
        "volumes: [{name: v, source: local, stageConfig: {name: \"@s\"}}]",
        "spec.volumes[0].stageConfig: only allowed with source: stage",
    );
    check_spec(
        "volumes: [{name: v, source: memory, size: 1G, blockConfig: {}}]",
        "spec.volumes[0].blockConfig: only allowed with source: block",
    );
    check_spec(
        "volumes: [{name: v, source: local, uid: -1}]",
        "spec.volumes[0].uid: -1 is invalid: must be 0 to 4294967295",
    );
    check_spec(
        "volumes: [{name: v, source: local, mode: rw}]",
        "spec.volumes[0].mode: unknown field 'mode', expected one of: name, source, size, uid, gid, stageConfig, blockConfig",
    );
}

#[test]
fn capabilities_and_service_roles() {
    let roles = |text: &str| format!("{}{text}", doc("", "endpoints: [{name: api, port: 80}]"));
    check(
        &roles("capabilities: {securityContext: {runAsRoot: true}}\n"),
        "capabilities.securityContext.runAsRoot: unknown field 'runAsRoot', expected one of: executeAsCaller, enableCustomCredentials",
    );
    check(
        &roles("capabilities: {securityContext: {executeAsCaller: 1}}\n"),
        "capabilities.securityContext.executeAsCaller: expected true or false, found a number",
    );
    check(
        &roles("serviceRoles: {name: r}\n"),
        "serviceRoles: expected a list, found a mapping",
    );
    check(
        &roles("serviceRoles: [{name: r}]\n"),
        "serviceRoles[0].endpoints: required",
    );
    check(
        &roles("serviceRoles: [{name: 1r, endpoints: [api]}]\n"),
        "serviceRoles[0].name: '1r' is invalid: must be alphanumerics or '_', start with a letter and end with an alphanumeric",
    );
    check(
        &roles("serviceRoles: [{name: r, endpoints: [api]}, {name: R, endpoints: [api]}]\n"),
        "serviceRoles[1].name: 'R' is a duplicate or reserved role name",
    );
    check(
        &roles("serviceRoles: [{name: all_endpoints_usage, endpoints: [api]}]\n"),
        "serviceRoles[0].name: 'all_endpoints_usage' is a duplicate or reserved role name",
    );
    check(
        &roles("serviceRoles: [{name: r, endpoints: []}]\n"),
        "serviceRoles[0].endpoints: at least one endpoint is required",
    );
    check(
        &roles("serviceRoles: [{name: r, endpoints: [api, ui]}]\n"),
        "serviceRoles[0].endpoints[1]: 'ui' is not an endpoint declared in spec.endpoints",
    );
}
