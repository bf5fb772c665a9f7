-- The external-function half of Snowflake's asynchronous sample, as a Snowflake script writes it.
-- floe: start the server with FLOE_EXTERNAL_URL_MAP mapping the gateway URL to the local process.
CREATE OR REPLACE API INTEGRATION async_api
  API_PROVIDER = aws_api_gateway
  API_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/async_role'
  API_ALLOWED_PREFIXES = ('https://abc123.execute-api.us-west-2.amazonaws.com/prod/')
  ENABLED = TRUE;

CREATE DATABASE IF NOT EXISTS async_db;
USE SCHEMA async_db.public;

CREATE OR REPLACE EXTERNAL FUNCTION ext_func_async(a NUMBER)
  RETURNS NUMBER
  API_INTEGRATION = async_api
  MAX_BATCH_ROWS = 10
  AS 'https://abc123.execute-api.us-west-2.amazonaws.com/prod/work';

CREATE OR REPLACE TABLE test_tb AS SELECT SEQ4() AS a FROM TABLE(GENERATOR(ROWCOUNT => 100));
SELECT SUM(ext_func_async(a)) FROM test_tb;   -- 4950, after 10 batches answered 202 then 200
