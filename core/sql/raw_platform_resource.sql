-- raw.platform_<resource>: one per platform resource (ingest/platform/load.py formats in the
-- table, its index prefix and the resource name). load_batch_id is raw.load_batch.batch_id,
-- written in the batch's own transaction; as in the feed tables it has no foreign key:
-- checking one per row cost a third of the COPY.
create table if not exists {table} (
    load_batch_id bigint not null,
    record_id     text not null,
    updated_at    timestamptz not null,
    is_deleted    boolean not null,
    payload       jsonb not null
);
create index if not exists {name}_batch_idx on {table} (load_batch_id);
create index if not exists {name}_key_idx on {table} (record_id, updated_at);
comment on table {table} is '省级监测平台接口 {resource} 的原始记录：每次拉取收到的每个版本一行，payload 为原样条目';
