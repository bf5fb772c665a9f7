-- The same service inside floe, called through a service function.
CREATE DATABASE IF NOT EXISTS tutorial_db;
CREATE SCHEMA IF NOT EXISTS tutorial_db.data_schema;
USE SCHEMA tutorial_db.data_schema;
CREATE COMPUTE POOL IF NOT EXISTS tutorial_compute_pool MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS;
CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_repository;

CREATE SERVICE async_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $$
spec:
  containers:
  - name: worker
    image: /tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest
    args: [async-server]
    env:
      SERVER_PORT: 8080
      PROCESS_MS: 200
    readinessProbe:
      port: 8080
      path: /healthcheck
  endpoints:
  - name: asyncendpoint
    port: 8080
$$;
SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'async_service');

CREATE OR REPLACE FUNCTION async_udf (n NUMBER)
  RETURNS NUMBER
  SERVICE = async_service
  ENDPOINT = asyncendpoint
  MAX_BATCH_ROWS = 10
  AS '/work';

SELECT SUM(async_udf(SEQ4())) FROM TABLE(GENERATOR(ROWCOUNT => 100));   -- 4950
