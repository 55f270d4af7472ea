"""The warehouse connection (its own tables: core/schema.py)."""
from __future__ import annotations

import psycopg


def connect(url: str, **kwargs) -> psycopg.Connection:
    """Autocommit by default: loaders open one explicit transaction per batch. `url`:
    Settings.warehouse_url (or any libpq URL)."""
    if not url:
        raise RuntimeError("WAREHOUSE_URL 未设置 (WAREHOUSE_URL is not set)")
    kwargs.setdefault("autocommit", True)
    return psycopg.connect(url, **kwargs)



def has_table(conn: psycopg.Connection, name: str) -> bool:
    """Whether the relation `schema.name` exists (a fresh warehouse, a model dbt did not build)."""
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def has_column(conn: psycopg.Connection, table: str, column: str) -> bool:
    """Whether `schema.table` has `column` (marts of an older release lack newer columns)."""
    schema, name = table.split(".")
    return conn.execute("select 1 from information_schema.columns where table_schema = %s and "
                        "table_name = %s and column_name = %s", (schema, name, column)).fetchone() is not None


def dict_rows(cur) -> list[dict]:
    """A cursor's rows as dicts keyed by column name."""
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
