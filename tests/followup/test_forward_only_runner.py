"""Issue 11.4 through the real GX runner: running a past date after a later one records that
date's slice and leaves today's dq.issue and its history as they were."""
import datetime as dt

import psycopg

from core.settings import Settings


def _state(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        issues = conn.execute("select md5(string_agg(t::text, '|' order by rule_id, entity_id)) "
                              "from dq.issue t").fetchone()[0]
        events = conn.execute("select count(*) from dq.issue_event").fetchone()[0]
    return issues, events


def test_backfill_through_the_runner_changes_nothing_of_today(fresh_db_url, tmp_path, monkeypatch):
    from core.schema import ensure_schema
    from core.warehouse import connect
    from expectations.dq_store import is_catch_up, latest_run_date
    from expectations.validate import run_rules

    today, yesterday = dt.date(2026, 11, 28), dt.date(2026, 11, 27)
    with connect(fresh_db_url) as conn:
        ensure_schema(conn, "raw")
        for entity in ("households", "visits"):
            conn.execute("insert into raw.load_batch (source, entity, origin, run_date, status) "
                         "values ('platform', %s, 'x', %s, 'succeeded')", (entity, today))
        # yibao's file came for today only: yesterday it was missing
        conn.execute("insert into raw.load_batch (source, entity, origin, run_date, file_date, status) "
                     "values ('yibao', 'yibao', 'yibao_20261128.csv', %s, %s, 'succeeded')", (today, today))
    monkeypatch.setenv("WAREHOUSE_URL", fresh_db_url)
    monkeypatch.setenv("GX_PROJECT_DIR", str(tmp_path / "gx"))

    first = run_rules(Settings.from_env(), today, families=["FRESH"])
    assert first["new"] > 0 and first["catch_up_rules"] == 0
    before = _state(fresh_db_url)
    with psycopg.connect(fresh_db_url) as conn:
        opened = conn.execute("select count(*) from dq.issue_event where event = 'opened' "
                              "and source = 'rule_run' and run_date = %s", (today,)).fetchone()[0]
        assert opened == first["new"] == before[1]
        assert conn.execute("select status from dq.issue where entity_id = 'yibao'").fetchone() is None

    backfill = run_rules(Settings.from_env(), yesterday, families=["FRESH"])
    from expectations.catalog import load_rules
    assert backfill["catch_up_rules"] == len(load_rules(["FRESH"])) and backfill["new"] == backfill["resolved"] == 0
    assert _state(fresh_db_url) == before
    with psycopg.connect(fresh_db_url) as conn:
        # yesterday's own slice: yibao was missing then
        slice_ids = {r[0] for r in conn.execute(
            "select entity_id from dq.issue_slice where run_date = %s and rule_id = 'FRESH-01'", (yesterday,))}
        assert "yibao" in slice_ids
        assert latest_run_date(conn) == today
        assert is_catch_up(conn, yesterday) and not is_catch_up(conn, today)
