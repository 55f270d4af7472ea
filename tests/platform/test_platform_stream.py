"""The platform loader streams pages into COPY while a thread fetches the next one: a short
attempt leaves no rows behind, and a fetch error reaches the loader in order (real simulator,
real PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json

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


def test_copy_lands_what_postgresql_reads_from_the_text(conn, sim, client_for):
    """Whatever the loader hands COPY (item bytes as they came, or re-encoded), each
    record_id, updated_at (the ends of the range, a fraction, a naive Beijing time),
    is_deleted and payload (escapes, tabs, newlines, backslashes, CJK) lands as the value
    PostgreSQL itself reads from the item's text."""
    from tests.platform.conftest import household

    # each stamp as sent, and as PostgreSQL is to read it (naive means Beijing time)
    stamps = {"0001-01-01T00:00:00+08:00": "0001-01-01T00:00:00+08:00",
              "9999-12-31T23:59:59.999999-12:00": "9999-12-31T23:59:59.999999-12:00",
              "2026-11-27T10:00:00.5+08:00": "2026-11-27T10:00:00.5+08:00",
              "2026-11-27T10:00:00": "2026-11-27T10:00:00+08:00",
              "2026-11-27T10:00:00+05:30": "2026-11-27T10:00:00+05:30"}
    ids = ["H\t1\\x", "户\n2", " H3 ", "H\\u4", "H5\r"]
    items = []
    for i, (rid, stamp) in enumerate(zip(ids, stamps)):
        item = dict(household(i), household_id=rid, updated_at=stamp, is_deleted=i % 2 == 1,
                    natural_village=["自然村\t一", "C:\\村", "\u4e2d\u0001", "a\nb", "\\u0041"][i])
        items.append(sim.upsert("households", item, touch=False))
    items.append(sim.upsert("households", dict(household(9), household_id="H\\u4e2d",
                                               updated_at="2026-11-27T10:00:00.5+08:00"),
                              touch=False))  # a backslash and a u in the key, not an escape
    s = load_resource(conn, client_for(sim, page_size=700), "households", D1)
    assert s["rows_rejected"] == 0 and s["rows_loaded"] == 3000 + len(items)
    for item in items:
        stamp = stamps[item["updated_at"]]
        row = conn.execute(
            "select updated_at = %s::timestamptz, is_deleted, payload = %s::jsonb, count(*) over () "
            "from raw.platform_households where record_id = %s",
            (stamp, json.dumps(item, ensure_ascii=False), item["household_id"].strip())).fetchone()
        assert row == (True, item["is_deleted"], True, 1), item
