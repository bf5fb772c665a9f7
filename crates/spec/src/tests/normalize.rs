//! `normalized_yaml` golden output and `spec_digest` stability: the same meaning prints the same
//! text and hashes the same; the normalized text parses back to the same `Spec`.

use crate::tests::{ECHO_SPEC, JOB_SPEC};
use crate::{normalized_yaml, parse, spec_digest};

const ECHO_NORMALIZED: &str = r#"---
spec:
  containers:
  - name: "echo"
    image: "/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest"
    env:
      SERVER_PORT: "8000"
      CHARACTER_NAME: "Bob"
    readinessProbe:
      port: 8000
      path: "/healthcheck"
  endpoints:
  - name: "echoendpoint"
    port: 8000
    public: true
"#;

#[test]
fn echo_golden() {
    let spec = parse(ECHO_SPEC).unwrap();
    assert_eq!(normalized_yaml(&spec), ECHO_NORMALIZED);
}

#[test]
fn resolved_image_and_sha256_as_describe_shows_them() {
    let mut spec = parse(ECHO_SPEC).unwrap();
    let hex = "d04a2d7b5fd0f3fd7c8fb1b4fd0bbb1a2e2ea2a9d5b6c7e8f9a0b1c2d3e4f173";
    spec.containers[0].image = "myorg-myacct.registry.snowflakecomputing.com/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest".to_owned();
    spec.containers[0].sha256 = Some(format!("sha256:{hex}"));
    let text = normalized_yaml(&spec);
    let expected_head = format!(
        "---\nspec:\n  containers:\n  - name: \"echo\"\n    image: \"myorg-myacct.registry.snowflakecomputing.com/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest\"\n    sha256: \"@sha256:{hex}\"\n    env:\n"
    );
    assert!(text.starts_with(&expected_head), "{text}");
    for given in [hex.to_owned(), format!("@sha256:{hex}")] {
        spec.containers[0].sha256 = Some(given);
        assert_eq!(normalized_yaml(&spec), text);
    }
}

#[test]
fn job_golden() {
    let spec = parse(JOB_SPEC).unwrap();
    assert_eq!(
        normalized_yaml(&spec),
        r#"---
spec:
  containers:
  - name: "main"
    image: "/tutorial_db/data_schema/tutorial_repository/my_job_image:latest"
    args:
    - "--query=select current_time() as time,'hello'"
    - "--result_table=results"
    env:
      SNOWFLAKE_WAREHOUSE: "tutorial_warehouse"
"#
    );
}

#[test]
fn digest_is_stable_and_follows_meaning() {
    let spec = parse(ECHO_SPEC).unwrap();
    let digest = spec_digest(&spec);
    assert_eq!(digest.len(), 64);
    assert!(
        digest
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    // Golden: changing the normalized format changes every stored digest.
    assert_eq!(
        digest,
        "c75695527ac3c3f71da284ec9cb65f5d1d024f4234428cdea152f5c42158a4b9"
    );
    // The same spec as JSON, with defaults spelled out and other quoting, means the same.
    let json = r#"{"spec": {"containers": [{"name": "echo", "image": "/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest", "env": {"SERVER_PORT": "8000", "CHARACTER_NAME": "Bob"}, "readinessProbe": {"port": 8000, "path": "/healthcheck", "periodSeconds": 5, "failureThreshold": 3}, "mountSessionToken": true}], "endpoints": [{"name": "echoendpoint", "port": 8000, "public": true, "protocol": "HTTP"}], "logExporters": {"eventTableConfig": {"logLevel": "INFO"}}}}"#;
    assert_eq!(spec_digest(&parse(json).unwrap()), digest);
    // A different value is a different digest.
    let other = ECHO_SPEC.replace("Bob", "Alice");
    assert_ne!(spec_digest(&parse(&other).unwrap()), digest);
}

#[test]
fn everything_prints_and_parses_back() {
    let text = r#"
spec:
  containers:
  - name: main
    image: /db/sch/repo/img:1
    command: [python3, "app.py"]
    args: []
    env: {"weird key": "a \"quoted\" value\nnext", N: 1.50}
    readinessProbe: {port: 8000, path: /ready, periodSeconds: 2}
    livenessProbe: {port: 8000, path: /live, failureThreshold: 9}
    volumeMounts: [{name: data, mountPath: /data}, {name: models, mountPath: /models}, {name: disk, mountPath: /disk}]
    resources:
      requests: {cpu: 500m, memory: 0.5Gi, nvidia.com/gpu: 1}
      limits: {cpu: 2, memory: 4G, nvidia.com/gpu: 1}
    sessionTokenConfig: {path: /run/token, permission: "0600", mountConnectionConfig: true}
    secrets:
    - {snowflakeSecret: {objectName: db.sch.creds}, envVarName: DB_PASSWORD, secretKeyRef: password}
    - {snowflakeSecret: {objectReference: ref}, directoryPath: /secrets/api}
  - name: side
    image: /db/sch/repo/side
    mountSessionToken: false
  endpoints:
  - {name: api, port: 8000, public: true, corsSettings: {Access-Control-Allow-Origin: ["https://a.example"], Access-Control-Allow-Methods: [GET]}}
  - {name: range, portRange: "9000-9010", protocol: TCP}
  volumes:
  - {name: data, source: memory, size: 2Gi}
  - {name: models, source: stage, uid: 1000, stageConfig: {name: "@db.sch.models/v1", metadataCache: 1h, resources: {requests: {cpu: 0, memory: 0.5Gi}}}}
  - {name: disk, source: block, size: 10Gi, blockConfig: {iops: 3000, initialContents: {fromSnapshot: snap}, tags: [a, 1]}}
  - {name: old, source: "@model_stage"}
  logExporters: {eventTableConfig: {logLevel: NONE}}
  platformMonitor: {metricConfig: {groups: [system]}}
  resourceManagement:
    autoScalingPolicies:
      scaleUp: {anyConditions: [{metricCondition: {metricName: cpu, aggregationType: avg}}]}
capabilities: {securityContext: {executeAsCaller: true, enableCustomCredentials: true}}
serviceRoles: [{name: api_users, endpoints: [api]}]
"#;
    let spec = parse(text).unwrap();
    let normalized = normalized_yaml(&spec);
    let again = parse(&normalized).unwrap_or_else(|err| panic!("{err}\n{normalized}"));
    assert_eq!(again, spec, "\n{normalized}");
    assert_eq!(normalized_yaml(&again), normalized);
    for expected in [
        "    env:\n      \"weird key\": \"a \\\"quoted\\\" value\\nnext\"\n      N: \"1.50\"\n",
        "    resources:\n      requests:\n        memory: \"512Mi\"\n        cpu: 0.5\n        nvidia.com/gpu: 1\n",
        "    sessionTokenConfig:\n      path: \"/run/token\"\n      permission: \"0600\"\n      mountConnectionConfig: true\n",
        "    - snowflakeSecret:\n        objectReference: \"ref\"\n      directoryPath: \"/secrets/api\"\n",
        "    mountSessionToken: false\n",
        "    args: []\n",
        "  - name: \"range\"\n    portRange: \"9000-9010\"\n    protocol: \"TCP\"\n",
        "  resourceManagement:\n    autoScalingPolicies:\n      scaleUp:\n        anyConditions:\n        - metricCondition:\n            metricName: \"cpu\"\n",
        "    blockConfig:\n      iops: 3000\n      initialContents:\n        fromSnapshot: \"snap\"\n      tags:\n      - \"a\"\n      - 1\n",
        "capabilities:\n  securityContext:\n    executeAsCaller: true\n    enableCustomCredentials: true\nserviceRoles:\n- name: \"api_users\"\n  endpoints:\n  - \"api\"\n",
    ] {
        assert!(
            normalized.contains(expected),
            "missing:\n{expected}\nin:\n{normalized}"
        );
    }
}
