-- raw.platform_<resource>_current: the latest version of each record of raw.platform_<resource>
-- (ingest/platform/load.py formats in the table and the resource name, keeps it in each
-- batch's transaction and fills it from the history when it is first created).
create table {current} (
    record_id     text primary key,
    updated_at    timestamptz not null,
    is_deleted    boolean not null,
    payload       jsonb not null,
    load_batch_id bigint not null
);
comment on table {current} is '省级监测平台接口 {resource} 每条记录的最新版本（updated_at 最晚者，其次批次最新者），由装载程序在批次事务内维护';
