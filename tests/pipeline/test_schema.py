"""The warehouse's own schema lives in core/sql and is applied by core.schema.ensure_schema:
idempotent, migrating what earlier releases created, and the only DDL and lock keys in code."""
from __future__ import annotations

import re
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("alerts", "core", "dags", "expectations", "followup", "ingest", "pipeline", "reports")


def _catalog(conn) -> list[tuple]:
    return conn.execute(
        """select table_schema, table_name, column_name, data_type, is_nullable, column_default
           from information_schema.columns where table_schema in ('raw', 'dq', 'private', 'reports')
           order by 1, 2, ordinal_position""").fetchall()


def test_ensure_schema_creates_everything_and_a_second_time_changes_nothing(fresh_db_url):
    from core.schema import ensure_schema

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        ensure_schema(conn)
        first = _catalog(conn)
        ensure_schema(conn)
        ensure_schema(conn, "dq", "raw")
        assert _catalog(conn) == first
        tables = {(s, t) for s, t, *_ in first}
        assert {("raw", "load_batch"), ("raw", "rejected_row"), ("raw", "field_warning"), ("dq", "issue"),
                ("dq", "issue_event"), ("dq", "task_failure"), ("dq", "alert_delivery"),
                ("dq", "alert_digest_state"), ("dq", "verification_applied"), ("private", "pii_key"),
                ("reports", "backcheck_draw")} <= tables
        # the one haversine: Beijing to Shanghai, about 1068 km
        km = conn.execute("select dq.distance_km(39.9042, 116.4074, 31.2304, 121.4737)").fetchone()[0]
        assert 1060 < km < 1075


def test_a_warehouse_of_an_earlier_release_is_migrated(fresh_db_url):
    from core.schema import ensure_schema

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("create schema raw")
        conn.execute("""create table raw.load_batch (batch_id bigserial primary key, source text not null,
            entity text not null, origin text not null, run_date date not null, file_date date, sha256 text,
            rows_in integer not null default 0, rows_loaded integer not null default 0,
            rows_rejected integer not null default 0, status text not null, message text,
            watermark timestamptz, started_at timestamptz not null default now(), finished_at timestamptz)""")
        conn.execute("insert into raw.load_batch (source, entity, origin, run_date, status) "
                     "values ('platform', 'households', 'x', '2026-11-01', 'succeeded')")
        ensure_schema(conn, "raw")
        assert conn.execute("select fields_warned from raw.load_batch").fetchone() == (0,)
        assert conn.execute("select to_regclass('raw.field_warning') is not null").fetchone()[0]


def _production_sources():
    for package in PRODUCTION:
        yield from (REPO / package).rglob("*.py")


def test_ddl_and_lock_keys_live_in_one_place_each():
    """CREATE TABLE only in core/sql (and the feed tables built from their mappings); advisory
    lock numbers only in core/locks.py."""
    ddl = re.compile(r"create\s+table", re.IGNORECASE)       # temp tables say "create temp table"
    literal_lock = re.compile(r"pg_advisory\w*\(\s*\d")
    allowed_ddl = {REPO / "ingest" / "feeds" / "tables.py"}   # columns from the feed mappings
    for path in _production_sources():
        text = path.read_text(encoding="utf-8")
        assert path in allowed_ddl or not ddl.search(text), f"{path.relative_to(REPO)} creates tables: core/sql/ is the place"
        assert not literal_lock.search(text), f"{path.relative_to(REPO)} picks a lock number: core/locks.py is the place"
