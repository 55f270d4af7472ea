-- private: the key of the ID-number hash and the hash itself (pipeline/pii.py, docs/pii.md).
-- Only the pipeline login (the owner) can use this schema: PUBLIC, and so bi_reader, has
-- neither USAGE on it nor EXECUTE on the function.
create schema if not exists private;
revoke all on schema private from public;
create table if not exists private.pii_key (
    singleton    boolean primary key default true check (singleton),
    key_material text not null,
    installed_at timestamptz not null default now()
);
revoke all on private.pii_key from public;
comment on table private.pii_key is '身份证号哈希密钥（仅流水线账号可读；由 pipeline.pii.install_hash_key 写入）';
create or replace function private.pii_hash(id text) returns text
language plpgsql stable strict parallel safe
set search_path = pg_catalog, pg_temp
as $fn$
declare
    k text;
begin
    select key_material into k from private.pii_key where singleton;
    if k is null then
        raise exception '个人信息哈希密钥未安装：请先运行 pipeline.pii.install_hash_key（每日 DAG 在 dbt 之前自动执行，密钥来自环境变量 PII_HASH_KEY）';
    end if;
    return encode(sha256(convert_to(k || ':' || id, 'UTF8')), 'hex');
end
$fn$;
revoke all on function private.pii_hash(text) from public;
comment on function private.pii_hash(text) is '规范化身份证号的加密哈希（密钥在 private.pii_key，BI 账号不可执行）';
