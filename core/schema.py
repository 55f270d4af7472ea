"""The warehouse's own schema: everything dbt does not build, as SQL files in core/sql/.

`ensure_schema(conn)` creates what is missing and migrates what an earlier release created
(columns added since are `add column if not exists`); every statement is idempotent, and the
whole of it runs as the pipeline login (no superuser: docs/deployment.md, pipeline/sql/dba_setup.sql).
Concurrent callers (retries, parallel runs, several hosts) take turns on one advisory lock.
"""
from __future__ import annotations

import functools
from pathlib import Path

import psycopg

from core import locks

SQL_DIR = Path(__file__).with_name("sql")
# in order: dq's tables do not refer to raw's, but the order is the one a fresh warehouse gets
PARTS = ("raw", "dq", "private", "reports")


@functools.cache
def ddl(name: str) -> str:
    """The text of core/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def ensure_schema(conn: psycopg.Connection, *parts: str) -> None:
    """Create or migrate the given parts (schemas) of PARTS, all of them when none is named."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown schema part(s) {sorted(unknown)}; known: {PARTS}")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.SCHEMA,))
        for part in parts or PARTS:
            conn.execute(ddl(part))
