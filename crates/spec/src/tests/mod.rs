//! Spec-level tests: whole documents through `parse` (the tutorials' specs, JSON as `snow` sends
//! it), every validation error path (`errors.rs`) and the normalized YAML (`normalize.rs`).

mod container_errors;
mod errors;
mod normalize;

use crate::{
    Capabilities, Endpoint, LogLevel, Probe, SESSION_TOKEN_DIR, VolumeSource, parse,
    render_template,
};

pub(crate) const ECHO_SPEC: &str = r#"
spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest
    env:
      SERVER_PORT: 8000
      CHARACTER_NAME: Bob
    readinessProbe:
      port: 8000
      path: /healthcheck
  endpoints:
  - name: echoendpoint
    port: 8000
    public: true
"#;

pub(crate) const JOB_SPEC: &str = r#"
spec:
  container:
  - name: main
    image: /tutorial_db/data_schema/tutorial_repository/my_job_image:latest
    env:
      SNOWFLAKE_WAREHOUSE: tutorial_warehouse
    args:
    - "--query=select current_time() as time,'hello'"
    - "--result_table=results"
"#;

#[test]
fn tutorial_echo_spec() {
    let spec = parse(ECHO_SPEC).unwrap();
    assert_eq!(spec.containers.len(), 1);
    let echo = &spec.containers[0];
    assert_eq!(echo.name, "echo");
    assert_eq!(
        echo.image,
        "/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest"
    );
    assert_eq!(
        echo.env,
        vec![
            ("SERVER_PORT".to_owned(), "8000".to_owned()),
            ("CHARACTER_NAME".to_owned(), "Bob".to_owned())
        ]
    );
    assert_eq!(
        echo.readiness_probe,
        Some(Probe {
            port: 8000,
            path: "/healthcheck".to_owned(),
            period_secs: 5,
            failure_threshold: 3
        })
    );
    assert_eq!(echo.liveness_probe, None);
    assert!(echo.mount_session_token);
    assert_eq!(echo.sha256, None);
    assert_eq!(
        spec.endpoints,
        vec![Endpoint {
            name: "echoendpoint".to_owned(),
            port: Some(8000),
            port_range: None,
            public: true,
            protocol: "HTTP".to_owned(),
            cors: None,
        }]
    );
    assert!(spec.volumes.is_empty());
    assert_eq!(spec.log_level, LogLevel::Info);
    assert_eq!(spec.capabilities, Capabilities::default());
}

#[test]
fn tutorial_job_spec_with_singular_container_key() {
    let spec = parse(JOB_SPEC).unwrap();
    let main = &spec.containers[0];
    assert_eq!(main.name, "main");
    assert_eq!(
        main.args,
        Some(vec![
            "--query=select current_time() as time,'hello'".to_owned(),
            "--result_table=results".to_owned()
        ])
    );
    assert_eq!(main.command, None);
    assert!(spec.endpoints.is_empty());
}

#[test]
fn singular_keys_accept_a_single_mapping() {
    let spec = parse(
        "spec:\n  container:\n    name: c\n    image: /a/b/c/d\n  endpoint:\n    name: e\n    port: 80\n",
    )
    .unwrap();
    assert_eq!(spec.containers[0].name, "c");
    assert_eq!(spec.endpoints[0].port, Some(80));
}

#[test]
fn json_spec_as_snow_sends_it() {
    let json = r#"{"spec": {"containers": [{"name": "echo", "image": "/db/sch/repo/img:latest", "env": {"PRICE": "\u0024\u00245", "N": 3, "ON": true}, "command": ["python3", "-c", "print('\u0024HOME')"]}], "endpoints": [{"name":"api","port":8080}]}, "serviceRoles": [{"name": "api_users", "endpoints": ["api"]}]}"#;
    let spec = parse(json).unwrap();
    let echo = &spec.containers[0];
    assert_eq!(
        echo.env,
        vec![
            ("PRICE".to_owned(), "$$5".to_owned()),
            ("N".to_owned(), "3".to_owned()),
            ("ON".to_owned(), "true".to_owned())
        ]
    );
    assert_eq!(echo.command.as_deref().unwrap()[2], "print('$HOME')");
    assert_eq!(spec.service_roles[0].name, "api_users");
    assert_eq!(spec.service_roles[0].endpoints, vec!["api".to_owned()]);
}

#[test]
fn full_spec() {
    let text = r#"
spec:
  containers:
  - name: main
    image: 127.0.0.1:8080/db/sch/repo/img@sha256:d04a2d7b5fd0f3fd7c8fb1b4fd0bbb1a2e2ea2a9d5b6c7e8f9a0b1c2d3e4f173
    command: [python3, app.py]
    args: ["-n", 2]
    readinessProbe: {port: 8000, path: /ready, periodSeconds: 2, failureThreshold: 5}
    livenessProbe: {port: 8000, path: /live}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: shm, mountPath: /dev/shm}
    - {name: models, mountPath: /models}
    - {name: old, mountPath: /old}
    - {name: disk, mountPath: /disk}
    resources:
      requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}
      limits: {cpu: 2, memory: 4Gi, nvidia.com/gpu: 1}
    sessionTokenConfig: {path: /run/token, permission: "0640", mountConnectionConfig: true}
    secrets:
    - snowflakeSecret: {objectName: db.sch.creds}
      envVarName: DB_PASSWORD
      secretKeyRef: password
    - snowflakeSecret: api_key
      directoryPath: /secrets/api
  - name: sidecar
    image: /db/sch/repo/side
    mountSessionToken: false
  endpoints:
  - {name: api, port: 8000, public: true, corsSettings: {Access-Control-Allow-Origin: ["https://a.example"], Access-Control-Allow-Methods: [GET, POST]}}
  - {name: range, portRange: "9000-9010", protocol: tcp}
  volumes:
  - {name: data, source: local}
  - {name: shm, source: memory, size: 2G}
  - name: models
    source: stage
    uid: 1000
    gid: 1000
    stageConfig: {name: "@db.sch.models/v1", metadataCache: 1h30m, resources: {requests: {cpu: 0, memory: 0.5Gi}, limits: {cpu: 0.5, memory: 1Gi}}}
  - {name: old, source: "@model_stage"}
  - {name: disk, source: block, size: 10Gi, blockConfig: {iops: 3000, encryption: SNOWFLAKE_SSE}}
  logExporters: {eventTableConfig: {logLevel: error}}
  platformMonitor: {metricConfig: {groups: [system, STATUS]}}
  resourceManagement: {autoScalingPolicies: {}}
  networkPolicyConfig: {allowInternetEgress: true}
capabilities:
  securityContext: {executeAsCaller: true}
serviceRoles:
- name: api_users
  endpoints: [api, range]
"#;
    let spec = parse(text).unwrap();
    let main = &spec.containers[0];
    assert_eq!(main.args, Some(vec!["-n".to_owned(), "2".to_owned()]));
    assert_eq!(
        main.readiness_probe
            .as_ref()
            .map(|p| (p.period_secs, p.failure_threshold)),
        Some((2, 5))
    );
    assert_eq!(
        main.liveness_probe
            .as_ref()
            .map(|p| (p.period_secs, p.failure_threshold)),
        Some((10, 3))
    );
    assert_eq!(main.resources.requests.cpu, Some(0.5));
    assert_eq!(main.resources.requests.memory, Some(1 << 30));
    assert_eq!(main.resources.limits.cpu, Some(2.0));
    assert_eq!(main.resources.limits.gpu, Some(1));
    let token = main.session_token_config.as_ref().unwrap();
    assert_eq!(
        (
            token.path.as_str(),
            token.permission,
            token.mount_connection_config
        ),
        ("/run/token", 0o640, true)
    );
    assert_eq!(main.secrets[0].object_name, "db.sch.creds");
    assert_eq!(main.secrets[0].secret_key_ref.as_deref(), Some("password"));
    assert_eq!(main.secrets[1].object_name, "api_key");
    assert_eq!(
        main.secrets[1].directory_path.as_deref(),
        Some("/secrets/api")
    );
    assert!(!spec.containers[1].mount_session_token);
    assert_eq!(
        spec.endpoints[0].cors.as_ref().unwrap().allow_methods,
        vec!["GET", "POST"]
    );
    assert_eq!(spec.endpoints[1].port_range, Some((9000, 9010)));
    assert_eq!(spec.endpoints[1].protocol, "TCP");
    assert_eq!(spec.volumes[1].size, Some(2_000_000_000));
    assert_eq!(
        spec.volumes[2].source,
        VolumeSource::Stage {
            name: "@db.sch.models/v1".to_owned()
        }
    );
    assert_eq!(spec.volumes[2].uid, Some(1000));
    assert_eq!(
        spec.volumes[2].stage_metadata_cache.as_deref(),
        Some("1h30m")
    );
    assert_eq!(
        spec.volumes[3].source,
        VolumeSource::LegacyStage("@model_stage".to_owned())
    );
    assert_eq!(spec.volumes[4].size, Some(10 << 30));
    assert_eq!(spec.log_level, LogLevel::Error);
    assert_eq!(spec.metric_groups, vec!["system", "status"]);
    assert!(spec.capabilities.execute_as_caller);
    assert!(spec.resource_management.is_some());
}

#[test]
fn session_token_defaults() {
    let spec = parse(
        "spec:\n  containers:\n  - name: c\n    image: /a/b/c/d\n    sessionTokenConfig:\n      mountConnectionConfig: true\n",
    )
    .unwrap();
    let token = spec.containers[0].session_token_config.as_ref().unwrap();
    assert_eq!(
        (token.path.as_str(), token.permission),
        (SESSION_TOKEN_DIR, 0o644)
    );
}

#[test]
fn template_then_parse() {
    let template = r#"
spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/{{ image }}:latest
    env: {{ env_values }}
    args: {{ARGS}}
    readinessProbe:
      port: {{ port | default(8000) }}
      path: {{ probe_path | default('/healthcheck') }}
"#;
    let using = vec![
        ("image".to_owned(), "'my_echo_service_image'".to_owned()),
        (
            "env_values".to_owned(),
            r#"'{"SERVER_PORT": 8000, "CHARACTER_NAME": "Bob"}'"#.to_owned(),
        ),
        ("ARGS".to_owned(), r#"$$["-n", 2]$$"#.to_owned()),
    ];
    let spec = parse(&render_template(template, &using).unwrap()).unwrap();
    let echo = &spec.containers[0];
    assert!(echo.image.ends_with("/my_echo_service_image:latest"));
    assert_eq!(echo.env[0], ("SERVER_PORT".to_owned(), "8000".to_owned()));
    assert_eq!(echo.args, Some(vec!["-n".to_owned(), "2".to_owned()]));
    assert_eq!(
        echo.readiness_probe
            .as_ref()
            .map(|p| (p.port, p.path.as_str())),
        Some((8000, "/healthcheck"))
    );
}
