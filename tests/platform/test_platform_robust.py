"""Issue 8 on the platform side: a pull short of its `total` never advances the watermark,
a tombstone always deletes, audit times are real (real simulator, real PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from ingest.batches import unresolved_failures
from ingest.platform.load import PlatformShortPull, load_resource, previous_watermark

D1, D2, D3 = dt.date(2026, 11, 28), dt.date(2026, 11, 29), dt.date(2026, 11, 30)


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


def test_short_pull_is_retried(conn, sim_factory, client_for):
    sim = sim_factory(hide_newest=3, hide_pulls=1)      # only the first pull comes up short
    s = load_resource(conn, client_for(sim, page_size=500), "households", D1)
    assert (s["rows_in"], s["rows_loaded"], s["total"]) == (3000, 3000, 3000)
    assert sim.state.pulls == 2


def test_short_pull_fails_and_keeps_the_watermark(conn, sim_factory, client_for):
    sim = sim_factory()
    client = client_for(sim, page_size=500)
    first = load_resource(conn, client, "households", D1)
    with conn.transaction():
        watermark = previous_watermark(conn, "households", D2)
    assert watermark == first["watermark"]

    # next day five records change, but the platform serves only two of them
    sim.set_now("2026-11-29T02:00:00+08:00")
    changed = [r["household_id"] for r in sim.state.records("households")[:5]]
    for rid in changed:
        sim.upsert("households", dict(sim.state.get("households", rid), household_size=9))
    sim.set_faults(hide_newest=3)
    with pytest.raises(PlatformShortPull, match="声明共 5 条，但连续 3 次拉取只收到 2 条"):
        load_resource(conn, client, "households", D2)
    status, rows_loaded, wm, message = conn.execute(
        "select status, rows_loaded, watermark, message from raw.load_batch "
        "where entity = 'households' order by batch_id desc limit 1").fetchone()
    assert (status, rows_loaded, wm) == ("failed", 0, None) and "水位不前移" in message
    assert conn.execute("select count(*) from raw.platform_households").fetchone()[0] == 3000
    with conn.transaction():
        assert previous_watermark(conn, "households", D3) == watermark   # not moved
    assert [s for s, *_ in unresolved_failures(conn, D2)] == ["platform"]

    # the platform recovers: the next run starts from the old watermark and gets all five
    sim.set_now("2026-11-30T02:00:00+08:00")
    sim.set_faults(hide_newest=0)
    s3 = load_resource(conn, client, "households", D3)
    assert s3["updated_since"] == watermark and s3["rows_loaded"] == 5
    got = {r[0] for r in conn.execute(
        "select record_id from raw.platform_households where payload->>'household_size' = '9'")}
    assert got == set(changed)
    assert unresolved_failures(conn, D3) == []


def test_tombstone_that_fails_field_checks_still_deletes(conn, sim_factory, client_for):
    sim = sim_factory(data_dir=None)
    base = {"household_id": "H1", "village_code": "341225103001", "household_size": 3,
            "is_deleted": False}
    sim.upsert("households", base)
    load_resource(conn, client_for(sim), "households", D1)
    sim.set_now("2026-11-29T02:00:00+08:00")
    # a deletion exported with a broken body: required village_code gone, bad size, NaN
    sim.upsert("households", {"household_id": "H1", "village_code": None, "household_size": "三",
                              "home_lat": float("nan"), "is_deleted": True})
    s = load_resource(conn, client_for(sim), "households", D2)
    assert (s["rows_in"], s["rows_loaded"], s["rows_rejected"]) == (1, 1, 0)
    deleted, payload = conn.execute(
        "select is_deleted, payload from raw.platform_households where load_batch_id = %s",
        (s["batch_id"],)).fetchone()
    assert deleted is True and payload["household_id"] == "H1"
    reasons = [r[0] for r in conn.execute(
        "select reason from raw.field_warning where batch_id = %s", (s["batch_id"],))]
    assert reasons and all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reasons)
    latest = conn.execute(
        "select is_deleted from raw.platform_households where record_id = 'H1' "
        "order by updated_at desc limit 1").fetchone()
    assert latest == (True,)


def test_a_live_record_missing_a_required_field_is_still_rejected(conn, sim_factory, client_for):
    sim = sim_factory(data_dir=None)
    sim.upsert("households", {"household_id": "H1", "village_code": None, "is_deleted": False})
    s = load_resource(conn, client_for(sim), "households", D1)
    assert (s["rows_loaded"], s["rows_rejected"]) == (0, 1)


def test_audit_times_are_real(conn, sim_factory, client_for):
    sim = sim_factory()
    load_resource(conn, client_for(sim, page_size=200), "households", D1)
    started, finished = conn.execute(
        "select started_at, finished_at from raw.load_batch").fetchone()
    assert finished > started     # one transaction, yet two different clock readings
