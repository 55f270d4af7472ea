"""The platform loader streams pages into COPY while a thread fetches the next one: a short
attempt leaves no rows behind, and a fetch error reaches the loader in order (real simulator,
real PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from ingest.platform.client import PlatformUnavailable
from ingest.platform.load import _prefetched, load_resource

D1 = dt.date(2026, 11, 28)


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


def test_a_retried_short_pull_lands_each_record_once(conn, sim_factory, client_for):
    sim = sim_factory(hide_newest=3, hide_pulls=1)      # the first pull comes up short
    s = load_resource(conn, client_for(sim, page_size=250), "households", D1)
    assert sim.state.pulls == 2
    n, distinct = conn.execute("select count(*), count(distinct record_id) "
                               "from raw.platform_households").fetchone()
    assert n == distinct == s["rows_loaded"] == 3000   # the short attempt's rows were undone


def test_prefetched_pages_keep_their_order_and_errors():
    def pages():
        yield from range(50)
        raise PlatformUnavailable("平台接口连续失败")

    got = []
    with pytest.raises(PlatformUnavailable, match="连续失败"):
        for page in _prefetched(pages()):
            got.append(page)
    assert got == list(range(50))


def test_a_consumer_that_stops_early_leaves_no_thread_waiting():
    import threading

    before = threading.active_count()
    for page in _prefetched(iter(range(1000))):
        if page == 3:
            break
    assert threading.active_count() == before
