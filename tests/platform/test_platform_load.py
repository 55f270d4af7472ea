"""Loader: batches, counts, reruns, rejects, failures (real PostgreSQL, real HTTP)."""
from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest

from ingest.platform.client import PlatformUnavailable
from ingest.platform.load import PlatformLoadError, ensure_platform_tables, load_all, load_resource
from ingest.platform.resources import RESOURCES

D1 = dt.date(2026, 11, 28)
D2 = dt.date(2026, 11, 29)


def batches(conn, entity):
    return conn.execute(
        "select batch_id, status, rows_in, rows_loaded, rows_rejected, watermark, run_date "
        "from raw.load_batch where source='platform' and entity=%s order by batch_id",
        (entity,)).fetchall()


def count(conn, table, where="true"):
    return conn.execute(f"select count(*) from raw.platform_{table} where {where}").fetchone()[0]


def test_tables_have_the_agreed_layout(conn):
    ensure_platform_tables(conn)
    ensure_platform_tables(conn)  # idempotent
    for name in RESOURCES:
        cols = conn.execute(
            "select column_name, data_type, is_nullable from information_schema.columns "
            "where table_schema='raw' and table_name=%s order by ordinal_position",
            (f"platform_{name}",)).fetchall()
        assert cols == [("load_batch_id", "bigint", "NO"), ("record_id", "text", "NO"),
                        ("updated_at", "timestamp with time zone", "NO"),
                        ("is_deleted", "boolean", "NO"), ("payload", "jsonb", "NO")]


def test_full_then_incremental_then_rerun(conn, sim, client_for):
    client = client_for(sim, page_size=250)
    s1 = load_resource(conn, client, "households", D1)
    assert (s1["rows_in"], s1["rows_loaded"], s1["rows_rejected"]) == (3000, 3000, 0)
    assert s1["updated_since"] is None and s1["pages"] == 12
    assert count(conn, "households") == 3000
    (b1,) = batches(conn, "households")
    assert b1[1:5] == ("succeeded", 3000, 3000, 0)
    assert b1[5] == dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    payload, rid = conn.execute(
        "select payload, record_id from raw.platform_households where record_id='H000000'").fetchone()
    assert payload["natural_village"] == "自然村0" and rid == "H000000"

    # next day: only what changed since the first page's server_time, tombstone included
    sim.set_now("2026-11-29T02:00:00+08:00")
    sim.upsert("households", dict(sim.state.get("households", "H000000"), household_size=7))
    sim.delete("households", "H007919")
    s2 = load_resource(conn, client, "households", D2)
    assert s2["updated_since"] == b1[5] and s2["rows_in"] == s2["rows_loaded"] == 2
    assert count(conn, "households", "is_deleted") == 1

    # rerun of D2 replaces its batch; D1 untouched
    sim.set_now("2026-11-29T03:00:00+08:00")
    s3 = load_resource(conn, client, "households", D2)
    assert s3["rows_loaded"] == 2 and s3["superseded"] == [s2["batch_id"]]
    assert count(conn, "households") == 3002
    statuses = [(b[1], b[6]) for b in batches(conn, "households")]
    assert statuses == [("succeeded", D1), ("superseded", D2), ("succeeded", D2)]
    assert count(conn, "households", f"load_batch_id={s2['batch_id']}") == 0

    # rerun of D1 replaces the full pull with a full pull (nothing earlier than D1)
    s4 = load_resource(conn, client, "households", D1)
    assert s4["updated_since"] is None and s4["rows_in"] == 3000
    assert s4["superseded"] == [s1["batch_id"]]
    assert count(conn, "households") == 3000 + 2


def test_latest_version_wins_downstream(conn, sim, client_for):
    client = client_for(sim, page_size=100)
    first_page = True
    orig_iter = client.iter_pages

    def iter_pages(resource, since):  # change a record that was already received
        nonlocal first_page
        for page in orig_iter(resource, since):
            yield page
            if first_page:
                first_page = False
                sim.upsert("households", dict(page.items[0], phone="13800000000"))

    client.iter_pages = iter_pages
    s = load_resource(conn, client, "households", D1)
    assert s["rows_loaded"] == 3001 and s["rows_in"] == 3001
    phone = conn.execute(
        "select distinct on (record_id) payload->>'phone' from raw.platform_households "
        "order by record_id, updated_at desc").fetchall()
    assert len(phone) == 3000 and ("13800000000",) in phone


def test_exact_repeats_are_landed_and_counted(conn, sim_factory, client_for):
    """Every item received is counted and landed (raw keeps what arrived); staging dedupes."""
    sim = sim_factory(rate_overlap=0.4, seed=5)
    s = load_resource(conn, client_for(sim, page_size=64), "households", D1)
    assert s["duplicates"] > 0
    assert s["rows_in"] == s["rows_loaded"] == 3000 + s["duplicates"] == count(conn, "households")
    assert conn.execute("select count(distinct record_id) from raw.platform_households").fetchone()[0] == 3000
    msg = conn.execute("select message from raw.load_batch where batch_id=%s",
                       (s["batch_id"],)).fetchone()[0]
    assert f"重复条目 {s['duplicates']} 条" in msg


def test_bad_items_are_rejected_with_reasons(conn, sim, client_for):
    sim.upsert("incomes", {"household_id": "H1", "net_income": 1})            # no year
    sim.upsert("incomes", {"year": 2025, "household_id": ""})                  # empty key
    sim.upsert("incomes", {"household_id": "H2", "year": 2025}, touch=False)   # no updated_at
    sim.upsert("incomes", {"household_id": "H3", "year": 2025, "updated_at": "昨天"}, touch=False)
    sim.upsert("incomes", {"household_id": "H4", "year": 2025, "is_deleted": "否",
                           "updated_at": "2026-11-27T00:00:00+08:00"}, touch=False)
    sim.upsert("incomes", ["not", "an", "object"])
    s = load_resource(conn, client_for(sim, page_size=7), "incomes", D1)
    assert (s["rows_in"], s["rows_loaded"], s["rows_rejected"]) == (46, 40, 6)
    rows = conn.execute(
        "select line_no, payload, reason from raw.rejected_row where batch_id=%s order by line_no",
        (s["batch_id"],)).fetchall()
    reasons = sorted(r[2] for r in rows)
    assert "缺少主键 year" in reasons and "缺少主键 household_id" in reasons
    assert "缺少 updated_at" in reasons
    assert any(r.startswith("updated_at 不是合法的时间") for r in reasons)
    assert any(r.startswith("is_deleted 不是布尔值") for r in reasons)
    assert any(r.startswith("条目不是 JSON 对象") for r in reasons)
    assert all(1 <= r[0] <= 46 for r in rows)
    assert ["not", "an", "object"] in [json.loads(r[1]) for r in rows]
    assert count(conn, "incomes") == 40
    rid = conn.execute("select record_id from raw.platform_incomes order by record_id limit 1").fetchone()
    assert rid == ("H000000:2025",)


def test_failure_mid_resource_leaves_nothing(conn, sim_factory, client_for):
    sim = sim_factory()
    client = client_for(sim, page_size=500, max_retries=1)
    good = load_resource(conn, client, "households", D1)
    sim.set_faults(fail_after_n=sim.state.listing_requests + 3)  # page 4 of the rerun fails
    with pytest.raises(PlatformUnavailable):
        load_resource(conn, client, "households", D1)
    rows = batches(conn, "households")
    assert [r[1] for r in rows] == ["succeeded", "failed"]
    assert rows[0][0] == good["batch_id"]                       # the earlier load stays
    assert count(conn, "households") == 3000
    assert count(conn, "households", f"load_batch_id <> {good['batch_id']}") == 0
    msg = conn.execute("select message from raw.load_batch where status='failed'").fetchone()[0]
    assert "连续 2 次失败" in msg
    assert conn.execute("select count(*) from raw.rejected_row").fetchone()[0] == 0


def test_load_all_keeps_going_and_reports(conn, sim_factory, client_for):
    sim = sim_factory(forbidden=("alerts",))
    with pytest.raises(PlatformLoadError) as err:
        load_all(conn, client_for(sim), D1)
    e = err.value
    assert set(e.failures) == {"alerts"} and "403" in e.failures["alerts"]
    loaded = {s["resource"]: s["rows_loaded"] for s in e.summaries}
    assert loaded["households"] == 3000 and loaded["incomes"] == 40 and loaded["visits"] == 0
    assert len(loaded) == len(RESOURCES) - 1
    for b in conn.execute("select status, rows_in, rows_loaded, rows_rejected from raw.load_batch"):
        assert b[0] == "failed" or b[1] == b[2] + b[3]


def test_refuses_open_transaction(fresh_db_url, sim, client_for):
    with psycopg.connect(fresh_db_url) as c:  # not autocommit
        ensure_platform_tables(c)
        c.execute("select 1")
        with pytest.raises(RuntimeError, match="未结束的事务"):
            load_resource(c, client_for(sim), "incomes", D1)
