-- Snowflake's "Service-to-Service Communications" tutorial, as a user runs it, against floe.
-- scripts/quickstart.sh pushes its images (built by scripts/build-test-images.sh) to the repository
-- created here, as the tutorial's `docker login` / `docker push` steps do; the specs' image paths
-- resolve through floe's registry, and SHOW SERVICE CONTAINERS shows the digests the services run.
CREATE DATABASE IF NOT EXISTS tutorial_db;
USE DATABASE tutorial_db;
CREATE SCHEMA IF NOT EXISTS data_schema;
USE SCHEMA data_schema;
CREATE COMPUTE POOL IF NOT EXISTS tutorial_compute_pool MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS;
CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_repository;
SHOW IMAGE REPOSITORIES;

CREATE SERVICE echo_service
  IN COMPUTE POOL tutorial_compute_pool
  FROM SPECIFICATION $$
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
  $$
  MIN_INSTANCES = 1
  MAX_INSTANCES = 1;
SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'echo_service');
SHOW SERVICES;
SELECT SYSTEM$GET_SERVICE_STATUS('echo_service');
SHOW SERVICE CONTAINERS IN SERVICE echo_service;

EXECUTE JOB SERVICE
  IN COMPUTE POOL tutorial_compute_pool
  NAME = tutorial_job
  FROM SPECIFICATION $$
    spec:
      containers:
      - name: main
        image: /tutorial_db/data_schema/tutorial_repository/my_job_image:latest
        args: [echo-client]
        env:
          SERVICE_URL: http://echo-service:8000/echo
  $$;
SELECT SYSTEM$GET_SERVICE_LOGS('tutorial_job', 0, 'main');
SELECT SYSTEM$GET_SERVICE_LOGS('echo_service', 0, 'echo');
DESCRIBE SERVICE tutorial_job;
SHOW SERVICE CONTAINERS IN SERVICE tutorial_job;

ALTER COMPUTE POOL tutorial_compute_pool STOP ALL;
DROP COMPUTE POOL tutorial_compute_pool;
DROP DATABASE tutorial_db;
