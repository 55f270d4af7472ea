"""Shared fixtures: a real PostgreSQL (embedded unless TEST_WAREHOUSE_URL is set)."""
from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
# Our own models are held to every dbt test (production only warns: dbt_project.yml).
os.environ.setdefault("DBT_TEST_SEVERITY", "error")
os.environ.setdefault("PII_HASH_KEY", "test-only-hash-key")
# a fixed port only when asked for; otherwise a free one remembered beside var/pg-test
TEST_PG_PORT = int(os.environ["TEST_PG_PORT"]) if os.environ.get("TEST_PG_PORT") else None


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """Base URL (no database) of a running PostgreSQL server for tests."""
    if os.environ.get("TEST_WAREHOUSE_URL"):
        return os.environ["TEST_WAREHOUSE_URL"].rsplit("/", 1)[0]
    from local import embedded_pg

    lock_path = REPO / "var" / "pg-test.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = embedded_pg.start(REPO / "var" / "pg-test", port=TEST_PG_PORT, database="postgres")
    return url.rsplit("/", 1)[0]


def _create_db(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture()
def fresh_db_url(pg_server_url) -> str:
    """An empty database of its own for one test."""
    return _create_db(pg_server_url, "t")


@pytest.fixture(scope="session")
def session_db_url(pg_server_url) -> str:
    """An empty database shared by one test session."""
    return _create_db(pg_server_url, "s")
