-- Users, roles and privileges. The setup of Snowflake's SPCS tutorials runs unchanged: first as
-- ACCOUNTADMIN, then as a user whose role only has what was granted to it.
show roles;
create role test_role;
create user tutorial_user password = 'tutorial-Passw0rd' comment = 'runs the tutorial';
create database if not exists tutorial_db;
grant ownership on database tutorial_db to role test_role copy current grants;
create or replace warehouse tutorial_warehouse with warehouse_size = 'X-SMALL';
grant usage on warehouse tutorial_warehouse to role test_role;
grant bind service endpoint on account to role test_role;
create compute pool tutorial_compute_pool min_nodes = 1 max_nodes = 1 instance_family = cpu_x64_xs;
grant usage, monitor on compute pool tutorial_compute_pool to role test_role;
grant role test_role to user tutorial_user;
show grants to role test_role;
show grants of role test_role;
show grants to user tutorial_user;
show grants on compute pool tutorial_compute_pool;

--! session TUTORIAL_USER
select current_user(), current_role();
use role test_role;
use database tutorial_db;
use warehouse tutorial_warehouse;
create schema if not exists data_schema;
use schema data_schema;
create image repository if not exists tutorial_repository;
create stage if not exists tutorial_stage directory = ( enable = true );
select current_user(), current_role(), current_database(), current_schema(), current_warehouse();
show image repositories;
show stages;
show databases;
show schemas;
show warehouses;
show compute pools;
show roles;

-- What the role was not given is refused with 003001 (or does not exist for it).
create compute pool other_pool min_nodes = 1 max_nodes = 1 instance_family = cpu_x64_xs;
alter compute pool tutorial_compute_pool suspend;
drop warehouse tutorial_warehouse;
create database other_db;
create role other_role;
create user other_user;
use role accountadmin;
use role sysadmin;
grant usage on warehouse tutorial_warehouse to role public;
create table t (x int);
insert into t values (1), (2);
select * from t;

--! session ADMIN ACCOUNTADMIN
grant operate on compute pool tutorial_compute_pool to role test_role;
create database shared_db;
create table shared_db.public.facts (x int);
insert into shared_db.public.facts values (1), (2), (3);
grant usage on database shared_db to role test_role;
grant usage on schema shared_db.public to role test_role;
grant select on future tables in schema shared_db.public to role test_role;
create table shared_db.public.later (y int);
show future grants in schema shared_db.public;
show grants on table shared_db.public.later;

--! session TUTORIAL_USER TEST_ROLE
alter compute pool tutorial_compute_pool suspend;
alter compute pool tutorial_compute_pool resume;
select * from shared_db.public.facts;
select * from shared_db.public.later;
insert into shared_db.public.later values (1);
show tables in schema shared_db.public;

--! session ADMIN ACCOUNTADMIN
grant select on all tables in schema shared_db.public to role test_role;
grant insert on table shared_db.public.later to role test_role;
revoke select on future tables in schema shared_db.public from role test_role;
show grants on table shared_db.public.later;
show future grants in schema shared_db.public;

--! session TUTORIAL_USER TEST_ROLE
select count(*) from shared_db.public.facts;
insert into shared_db.public.later values (1);
update shared_db.public.later set y = 2;
create view tutorial_db.data_schema.v as select x from shared_db.public.facts;
select count(*) from tutorial_db.data_schema.v;

--! session ADMIN ACCOUNTADMIN
revoke select on table shared_db.public.facts from role test_role;
grant role test_role to role sysadmin;
grant role sysadmin to role test_role;
show grants of role test_role;
show grants to role sysadmin;

--! session TUTORIAL_USER TEST_ROLE
-- The view runs with its owner's privileges, and its owner lost SELECT on the table.
select count(*) from tutorial_db.data_schema.v;
show users;
use secondary roles all;

--! session ADMIN ACCOUNTADMIN
show users like 'TUTORIAL%';
revoke role test_role from user tutorial_user;
show grants to user tutorial_user;
drop role test_role;
show databases like 'TUTORIAL%';
show grants on database tutorial_db;
drop user tutorial_user;
show users;
