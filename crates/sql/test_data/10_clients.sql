-- SQL forms that Snowflake's clients send (snowflake-connector-python, Snowpark, the snow CLI).
create database clients;
use schema clients.public;

-- snow names every object with IDENTIFIER('…'); its SHOW … LIKE escapes '_' with a backslash.
create compute pool identifier('snow_pool_1') min_nodes = 1 max_nodes = 1 instance_family = 'CPU_X64_XS' auto_resume = True initially_suspended = False auto_suspend_secs = 3600;
describe compute pool identifier('SNOW_POOL_1');
show compute pools like 'SNOW\\_POOL\\_1';
show compute pools like 'SNOW\\_POOL\\_X';
drop compute pool identifier('snow_pool_1');
-- Inside IDENTIFIER('…') quoted parts keep their case, as anywhere else.
create image repository identifier('"clients"."PUBLIC".repo_1');
create image repository identifier('CLIENTS."PUBLIC".repo_1');
show image repositories like 'REPO\\_1' in schema clients.public;
drop image repository identifier('clients.public.repo_1');
create table identifier('t1') (a int);
insert into identifier('clients.public.t1') values (1), (2);
select * from identifier('T1') order by a;

-- Snowpark: $n columns of VALUES, typed CTAS, a temporary CTAS, COUNT over a subquery.
create or replace table saved("A" BIGINT, "B" STRING(16777216) NOT NULL, "C" DOUBLE) as select * from ( select "A", "B", "C" from ( select $1 as "A", $2 as "B", $3 as "C" from values (1 :: INT, 'x' :: STRING, '1.5' :: FLOAT), (2 :: INT, 'y' :: STRING, NULL :: FLOAT)));
describe table saved;
select * from saved order by "A";
create or replace temporary table young("A" BIGINT) as select * from ( select "A" from saved where ("A" < 2 :: INT));
select count(1) as "COUNT(LITERAL())" from ( select * from young) limit 1;

-- Snowpark's Session.close(): the session's own queries (session 1 here).
select system$cancel_all_queries(1);
select system$cancel_all_queries(42);
