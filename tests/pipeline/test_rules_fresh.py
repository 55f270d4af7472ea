"""FRESH-01 beyond the synthetic province (test_rules_catalog.py covers that): the platform
not loaded successfully for two days."""
import datetime as dt

import psycopg

from core.settings import Settings


def test_platform_not_loaded_for_two_days_is_flagged(fresh_db_url, tmp_path, monkeypatch):
    """Platform last loaded three days ago, yibao's file for the day present, the rest absent."""
    from core.schema import ensure_schema
    from core.warehouse import connect
    from expectations.validate import run_rules

    today = dt.date(2026, 11, 28)
    with connect(fresh_db_url) as conn:
        ensure_schema(conn, "raw")
        for entity in ("households", "visits"):
            conn.execute("insert into raw.load_batch (source, entity, origin, run_date, status) "
                         "values ('platform', %s, 'x', %s, 'succeeded')", (entity, today - dt.timedelta(days=3)))
        conn.execute("insert into raw.load_batch (source, entity, origin, run_date, file_date, status) "
                     "values ('yibao', 'yibao', 'yibao_20261128.csv', %s, %s, 'succeeded')", (today, today))
    monkeypatch.setenv("WAREHOUSE_URL", fresh_db_url)
    monkeypatch.setenv("GX_PROJECT_DIR", str(tmp_path / "gx"))
    run_rules(Settings.from_env(), today, families=["FRESH"])
    with psycopg.connect(fresh_db_url) as conn:
        flagged = {r[0] for r in conn.execute(
            "select entity_id from dq.issue where rule_id='FRESH-01' and status='open'")}
    assert "platform" in flagged
    assert "yibao" not in flagged
    assert {"minzheng", "gongan"} <= flagged
    assert "consumption_sale" not in flagged   # the §3 exports arrive when they change
