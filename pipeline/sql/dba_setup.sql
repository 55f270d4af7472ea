-- 数据仓库一次性初始化（由 DBA 以超级用户执行；可重复执行）
-- One-off warehouse setup, run by a DBA as superuser; safe to run again.
--
--   psql -h <host> -U postgres -v warehouse=warehouse -v pipeline=fpr_pipeline \
--        -v bi_login=bi_user -f pipeline/sql/dba_setup.sql
--   然后设置密码（不写进脚本）/ then set the passwords interactively:
--   psql -U postgres -c '\password fpr_pipeline'   psql -U postgres -c '\password bi_user'
--
-- What the pipeline login gets: LOGIN, no SUPERUSER, no CREATEDB, no CREATEROLE; it owns the
-- warehouse database (so it may create its schemas raw, staging, intermediate, marts,
-- snapshots, dq, private, use temporary tables, and revoke PUBLIC's rights on that database);
-- it reads the catalog objects this script takes away from PUBLIC. The roles bi_reader and
-- the BI login are created here, so the pipeline never needs CREATEROLE: its daily bi_access
-- task only grants on its own objects.
\set ON_ERROR_STOP on

-- 1. roles (cluster-wide)
select format('create role %I login nosuperuser nocreatedb nocreaterole noreplication', :'pipeline')
where not exists (select 1 from pg_roles where rolname = :'pipeline') \gexec
select format('alter role %I nosuperuser nocreatedb nocreaterole noreplication nobypassrls', :'pipeline') \gexec
select 'create role bi_reader nologin'
where not exists (select 1 from pg_roles where rolname = 'bi_reader') \gexec
select format('create role %I login nosuperuser nocreatedb nocreaterole in role bi_reader', :'bi_login')
where not exists (select 1 from pg_roles where rolname = :'bi_login') \gexec
select format('grant bi_reader to %I', :'bi_login') \gexec

-- 2. the warehouse database, owned by the pipeline login
select format('create database %I owner %I', :'warehouse', :'pipeline')
where not exists (select 1 from pg_database where datname = :'warehouse') \gexec
select format('alter database %I owner to %I', :'warehouse', :'pipeline') \gexec
-- nobody connects or creates temporary tables without a grant; bi_reader may connect
select format('revoke connect, temporary on database %I from public', :'warehouse') \gexec
select format('grant connect on database %I to bi_reader', :'warehouse') \gexec
-- the BI login reaches no other database of this server through PUBLIC. Repeat for every
-- database BI must not see (the Airflow metadata database, postgres, ...), or add
-- "host all <bi_login> 0.0.0.0/0 reject" after the warehouse line in pg_hba.conf.
-- Example:  revoke connect on database airflow from public;

\connect :warehouse
-- 3. inside the warehouse: the schema public is nobody's playground (PostgreSQL 14 and older
--    let PUBLIC create there); the pipeline owns every other schema it creates
alter schema public owner to pg_database_owner;
revoke all on schema public from public;

-- 4. view and rule definitions (the SQL of staging/intermediate views): PUBLIC may read them
--    from the catalogs; only a superuser can take that away. The pipeline keeps them (dbt
--    reads pg_rewrite to link views to their tables).
revoke select on pg_catalog.pg_views, pg_catalog.pg_matviews, pg_catalog.pg_rules, pg_catalog.pg_rewrite from public;
revoke execute on function pg_catalog.pg_get_viewdef(oid), pg_catalog.pg_get_viewdef(oid, boolean),
    pg_catalog.pg_get_viewdef(oid, integer), pg_catalog.pg_get_viewdef(text),
    pg_catalog.pg_get_viewdef(text, boolean), pg_catalog.pg_get_ruledef(oid),
    pg_catalog.pg_get_ruledef(oid, boolean) from public;
select format('grant select on pg_catalog.pg_views, pg_catalog.pg_matviews, pg_catalog.pg_rules, '
              'pg_catalog.pg_rewrite to %I', :'pipeline') \gexec
select format('grant execute on function pg_catalog.pg_get_viewdef(oid), pg_catalog.pg_get_viewdef(oid, boolean), '
              'pg_catalog.pg_get_viewdef(oid, integer), pg_catalog.pg_get_viewdef(text), '
              'pg_catalog.pg_get_viewdef(text, boolean), pg_catalog.pg_get_ruledef(oid), '
              'pg_catalog.pg_get_ruledef(oid, boolean) to %I', :'pipeline') \gexec

-- 5. an existing warehouse built by another role (e.g. postgres before this script): hand its
--    schemas over, once, so dbt as the pipeline login can replace the tables in them:
--    reassign owned by <old owner> to <pipeline>;   -- only inside this database, read it first
