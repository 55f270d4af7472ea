"""The embedded server's parallel query: none while dbt's threads take every core."""
from __future__ import annotations

import os

import psycopg
import pytest

from local import embedded_pg


@pytest.mark.parametrize(("cores", "threads", "workers"), [
    (1, 4, 0), (2, 4, 0), (4, 4, 0), (7, 4, 0), (8, 4, 1), (12, 4, 2), (64, 4, 2), (2, 1, 1), (8, 2, 2),
])
def test_parallel_workers_leave_each_thread_a_core(cores, threads, workers):
    assert embedded_pg.parallel_workers(cores, threads) == workers


def test_parallel_workers_read_dbt_threads(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setenv("DBT_THREADS", "2")
    assert embedded_pg.parallel_workers() == 2
    monkeypatch.setenv("DBT_THREADS", "many")   # Settings refuses it; here the default 4 holds
    assert embedded_pg.parallel_workers() == 1


def test_the_server_runs_with_it(pg_server_url):
    if os.environ.get("TEST_WAREHOUSE_URL"):
        pytest.skip("a site's own server keeps its own setting")
    with psycopg.connect(pg_server_url) as conn:
        shown = conn.execute("show max_parallel_workers_per_gather").fetchone()[0]
    assert int(shown) == embedded_pg.parallel_workers()
