-- raw: the audit tables every loader shares (one row per batch, its rejected rows and its
-- field warnings). The per-source tables raw.platform_<resource> (raw_platform_resource.sql)
-- and raw.feed_<folder> (ingest/feeds/tables.py, built from the feed mappings) are made by the
-- loaders.
create schema if not exists raw;
create table if not exists raw.load_batch (
    batch_id      bigserial primary key,
    source        text not null,          -- 'platform' or a landing folder name
    entity        text not null,          -- resource / feed entity
    origin        text not null,          -- endpoint URL or file name
    run_date      date not null,
    file_date     date,
    sha256        text,
    rows_in       integer not null default 0,
    rows_loaded   integer not null default 0,
    rows_rejected integer not null default 0,
    status        text not null check (status in ('succeeded','failed','superseded','duplicate')),
    message       text,
    watermark     timestamptz,
    started_at    timestamptz not null default clock_timestamp(),
    finished_at   timestamptz,
    fields_warned integer not null default 0,
    constraint rows_balance check (status = 'failed' or rows_in = rows_loaded + rows_rejected)
);
create index if not exists load_batch_source_idx on raw.load_batch (source, entity, status);
create table if not exists raw.rejected_row (
    batch_id  bigint not null references raw.load_batch (batch_id) on delete cascade,
    line_no   integer,
    payload   text not null,
    reason    text not null
);
create index if not exists rejected_row_batch_idx on raw.rejected_row (batch_id);
-- warehouses created before field warnings existed (no DDL lock once migrated)
do $$ begin
    if not exists (select 1 from information_schema.columns where table_schema = 'raw'
                   and table_name = 'load_batch' and column_name = 'fields_warned') then
        alter table raw.load_batch add column fields_warned integer not null default 0;
        alter table raw.load_batch alter column started_at set default clock_timestamp();
    end if;
end $$;
create table if not exists raw.field_warning (
    batch_id  bigint not null references raw.load_batch (batch_id) on delete cascade,
    line_no   integer,
    column_name text not null,
    original  text,
    reason    text not null
);
create index if not exists field_warning_batch_idx on raw.field_warning (batch_id);
comment on table raw.field_warning is '字段级警告：行已装载，但该字段无法识别，已置空；记录所属批次、行号、列、原文和原因';
comment on column raw.load_batch.fields_warned is '本批次中无法识别而置空的字段个数（明细见 raw.field_warning）';
comment on table raw.load_batch is '每个装载批次一行：来源、文件或接口、sha256、读入/装载/拒收行数、状态、耗时';
comment on table raw.rejected_row is '被拒收的原始行：所属批次、行号、原文、可据以处理的原因';
