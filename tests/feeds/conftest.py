"""Fixtures for feed tests: a migrated warehouse and a landing folder."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingest.feeds import ensure_feed_tables


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        ensure_feed_tables(c)
        yield c


@pytest.fixture()
def landing(tmp_path) -> Path:
    return tmp_path / "landing"
