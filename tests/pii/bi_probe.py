"""What a BI login may and may not do (docs/bi.md): tried for real, as that login."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

HIDDEN_SCHEMAS = ("raw", "staging", "intermediate", "dq", "private")


def as_user(url: str, user: str, password: str, database: str | None = None) -> str:
    p = urlsplit(url)
    path = f"/{database}" if database else p.path
    return urlunsplit(p._replace(netloc=f"{user}:{password}@{p.hostname}:{p.port}", path=path))


def tables(owner_url: str, schema: str, kinds: str = "r") -> list[str]:
    with psycopg.connect(owner_url) as conn:
        return [r[0] for r in conn.execute(
            """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = %s and c.relkind = any(%s) order by 1""", (schema, list(kinds)))]


def assert_reads_every_mart(owner_url: str, bi_url: str) -> int:
    marts = tables(owner_url, "marts")
    assert len(marts) >= 17
    with psycopg.connect(bi_url) as conn:
        for t in marts:
            conn.execute(f'select * from marts."{t}" limit 1').fetchall()
        assert conn.execute("select count(*) from marts.dim_person").fetchone()[0] > 0
    return len(marts)


def assert_refused_everything_else(owner_url: str, bi_url: str, other_db: str) -> None:
    refused = psycopg.errors.InsufficientPrivilege
    with psycopg.connect(bi_url, autocommit=True) as conn:
        for statement in (
            "create temporary table bi_probe (x int)",
            "create table marts.bi_probe (x int)",
            "create table public.bi_probe (x int)",
            "create function marts.bi_probe() returns int language sql as 'select 1'",
            "create function public.bi_probe() returns int language sql as 'select 1'",
            "create schema bi_probe",
            "select private.pii_hash('341225198001011234')",
            "select * from private.pii_key",
            "select definition from pg_catalog.pg_views where schemaname = 'staging'",
            "select ev_action from pg_catalog.pg_rewrite limit 1",
            "select pg_get_viewdef('staging.stg_platform__persons'::regclass)",
        ):
            with pytest.raises(refused):
                conn.execute(statement)
        for schema in HIDDEN_SCHEMAS:
            names = tables(owner_url, schema, "rvm")
            assert names, f"nothing in {schema} to try"
            for t in names[:4]:
                with pytest.raises(refused):
                    conn.execute(f'select 1 from {schema}."{t}" limit 1')
        # information_schema shows only what the login may use
        assert conn.execute("select count(*) from information_schema.views where table_schema <> all("
                            "array['pg_catalog', 'information_schema'])").fetchone()[0] == 0
        assert conn.execute("select count(*) from information_schema.tables where table_schema = any(%s)",
                            (list(HIDDEN_SCHEMAS),)).fetchone()[0] == 0
        assert not conn.execute("select has_database_privilege(current_database(), 'TEMP')").fetchone()[0]
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(as_user(bi_url, urlsplit(bi_url).username, urlsplit(bi_url).password, other_db)).close()
