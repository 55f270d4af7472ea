"""The current-version tables (raw.platform_<resource>_current) are kept by the loader in each
batch's transaction, by whichever way it takes (a plain insert into an empty table, with its
primary key built after the rows or not; an upsert; the batch's rows as they are or ranked
when a record_id repeats in it): after any sequence of loads, reruns and backfills each one
is exactly the latest version per record of its history, as ranking the whole history gives."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from ingest.platform import load
from ingest.platform.load import ensure_platform_tables, load_resource

D0 = dt.date(2026, 11, 27)
D1 = dt.date(2026, 11, 28)
D2 = dt.date(2026, 11, 29)


def spy(monkeypatch) -> list[bool]:
    """What each call of _insert_then_key returned (True: the key was built after the rows)."""
    calls, real = [], load._insert_then_key

    def wrapped(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(load, "_insert_then_key", wrapped)
    return calls


@pytest.fixture(params=["bulk", "row_by_row"])
def bulk(request, monkeypatch) -> list[bool]:
    """Both ways of filling an empty current table: primary key built after the rows (any
    batch size), or kept during the insert (no batch is big enough); the spy's calls."""
    monkeypatch.setattr(load, "BULK_CURRENT_ROWS", 1 if request.param == "bulk" else 10**9)
    return spy(monkeypatch)


def differences(conn, name: str) -> int:
    """Rows in which raw.platform_<name>_current and the ranked history differ."""
    return conn.execute(
        f"with best as (select distinct on (record_id) record_id, updated_at, is_deleted, payload, "
        f"load_batch_id from raw.platform_{name} order by record_id, updated_at desc, load_batch_id desc) "
        f"select count(*) from ((table best except select * from raw.platform_{name}_current) "
        f"union all (select * from raw.platform_{name}_current except table best)) as d").fetchone()[0]


def key_of(conn, name: str) -> list[tuple]:
    """The current table's constraints and indexes, as created (core/sql/raw_platform_current.sql)."""
    table = f"raw.platform_{name}_current"
    return (conn.execute("select conname, pg_get_constraintdef(oid) from pg_constraint "
                         "where conrelid = %s::regclass order by 1", (table,)).fetchall()
            + conn.execute("select indexrelid::regclass::text, pg_get_indexdef(indexrelid) from pg_index "
                           "where indrelid = %s::regclass order by 1", (table,)).fetchall())


@pytest.fixture()
def made(conn) -> list[tuple]:
    """key_of households' current table as the DDL makes it."""
    ensure_platform_tables(conn, ["households"])
    out = key_of(conn, "households")
    assert ("platform_households_current_pkey", "PRIMARY KEY (record_id)") in out
    return out


def test_loads_reruns_and_backfills_keep_current_exact(conn, made, sim, client_for, bulk):
    client = client_for(sim, page_size=400)
    load_resource(conn, client, "households", D1)                   # empty table: plain insert
    assert differences(conn, "households") == 0 and key_of(conn, "households") == made
    assert conn.execute("select count(*) from raw.platform_households_current").fetchone()[0] == 3000

    load_resource(conn, client, "households", D1)                   # rerun of the only batch: empty again
    assert differences(conn, "households") == 0 and key_of(conn, "households") == made
    assert bulk == ([True, True] if bulk else [])

    sim.set_now("2026-11-29T02:00:00+08:00")                        # next day: a change, a tombstone
    sim.upsert("households", dict(sim.state.get("households", "H000000"), household_size=7))
    sim.delete("households", "H007919")
    load_resource(conn, client, "households", D2)                   # upsert
    assert differences(conn, "households") == 0
    assert conn.execute("select payload->>'household_size', load_batch_id = (select max(batch_id) "
                        "from raw.load_batch) from raw.platform_households_current "
                        "where record_id = 'H000000'").fetchone() == ("7", True)

    sim.set_now("2026-11-29T03:00:00+08:00")
    load_resource(conn, client, "households", D2)                   # rerun of a later day
    load_resource(conn, client, "households", D1)                   # rerun of day one under day two
    assert differences(conn, "households") == 0
    load_resource(conn, client, "households", D0)                   # backfill: a full pull, earlier date
    assert differences(conn, "households") == 0 and key_of(conn, "households") == made
    assert conn.execute("select count(*) from raw.platform_households_current").fetchone()[0] == 3000
    assert len(bulk) in (0, 2)                                      # later loads: never empty


def test_repeated_record_ids_in_one_batch(conn, made, sim_factory, client_for, bulk):
    """Pages served twice (exact repeats) and a record changed while the pull goes on (two
    versions in one batch): the batch is ranked, its latest version is current."""
    sim = sim_factory(rate_overlap=0.4, seed=5)
    client = client_for(sim, page_size=64)
    pages = client.iter_pages

    def changing(resource, since):
        for number, page in enumerate(pages(resource, since), 1):
            yield page
            if number == 1:
                sim.upsert("households", dict(page.items[0], phone="13800000000"))

    client.iter_pages = changing
    s = load_resource(conn, client, "households", D1)
    assert s["duplicates"] > 0 and s["rows_loaded"] > 3000
    assert differences(conn, "households") == 0 and key_of(conn, "households") == made
    assert conn.execute("select count(*) from raw.platform_households_current "
                        "where payload->>'phone' = '13800000000'").fetchone()[0] == 1


def test_a_reader_holding_the_table_gets_the_row_by_row_way(conn, made, fresh_db_url, sim,
                                                            client_for, monkeypatch):
    """The key is dropped only when nobody reads the table; else the rows go in with it."""
    monkeypatch.setattr(load, "BULK_CURRENT_ROWS", 1)
    calls = spy(monkeypatch)
    with psycopg.connect(fresh_db_url) as reader:                  # a transaction left open
        reader.execute("select count(*) from raw.platform_households_current").fetchone()
        load_resource(conn, client_for(sim), "households", D1)
        assert calls == [False]
        assert differences(conn, "households") == 0 and key_of(conn, "households") == made
