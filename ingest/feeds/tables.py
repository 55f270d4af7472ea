"""raw.feed_<folder> tables, built from the mappings (a column added to a YAML is added here)."""
from __future__ import annotations

from typing import Iterable

import psycopg
from psycopg import sql

from core import locks
from core.schema import ensure_schema
from ingest.feeds.mapping import FOLDERS, Mapping, load_mapping

FIXED_COLUMNS = (
    ("load_batch_id", "bigint not null", "装载批次号（raw.load_batch.batch_id）"),
    ("file_date", "date not null", "文件所属日期（文件名中的日期）"),
    ("line_no", "integer not null", "原文件中的行号（CSV 物理行 / XLSX 工作表行）"),
)
EXTRA_COLUMN = ("extra", "jsonb", "映射文件中没有的额外列：{原表头: 原值}")


def table_name(folder: str) -> str:
    return f"feed_{folder}"


def _all_columns(mapping: Mapping) -> list[tuple[str, str, str]]:
    return [*FIXED_COLUMNS, *mapping.table_columns(), EXTRA_COLUMN]


def ensure_feed_table(conn: psycopg.Connection, mapping: Mapping) -> None:
    """Create raw.feed_<folder> or add the columns the mapping gained; comment them in Chinese.

    Existing columns are left alone (a type change needs a migration), so a daily run takes
    no DDL lock once the table is in shape.
    """
    table = table_name(mapping.folder)
    ident = sql.Identifier("raw", table)
    wanted = _all_columns(mapping)
    with conn.transaction():   # the daily case, one statement: everything is in place already
        missing_audit, present = conn.execute(
            "select to_regclass('raw.rejected_row') is null, array("
            "  select attname::text from pg_attribute"
            "  where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped)",
            (f"raw.{table}",)).fetchone()
    if not missing_audit and {n for n, _, _ in wanted} <= set(present):
        return
    if missing_audit:   # a fresh warehouse: the shared audit tables come first
        ensure_schema(conn, "raw")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.SCHEMA,))
        existing = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = %s", (table,))}
        if not existing:
            conn.execute(sql.SQL("create table {} ({})").format(
                ident, sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t, _ in wanted)))
            conn.execute(sql.SQL("create index on {} (load_batch_id)").format(ident))
            conn.execute(sql.SQL("comment on table {} is {}").format(
                ident, sql.Literal(f"{mapping.department}：{mapping.description}"
                                   f"（落地目录 {mapping.folder}，每行带装载批次号）")))
        for name, sql_type, comment in wanted:
            if name in existing:
                continue
            if existing:
                nullable_type = sql_type.replace(" not null", "")
                conn.execute(sql.SQL("alter table {} add column {} {}").format(
                    ident, sql.Identifier(name), sql.SQL(nullable_type)))
            conn.execute(sql.SQL("comment on column {}.{} is {}").format(
                ident, sql.Identifier(name), sql.Literal(comment)))


def ensure_feed_tables(conn: psycopg.Connection, folders: Iterable[str] | None = None) -> None:
    """The raw audit tables and one raw.feed_<folder> per mapping."""
    ensure_schema(conn, "raw")
    for folder in folders or FOLDERS:
        ensure_feed_table(conn, load_mapping(folder))
