"""Incremental builds equal full ones. The platform's current versions are kept at ingest
(raw.platform_<resource>_current) and the big platform staging tables are incremental: on
the same raw data, marts and dq.issue must come out byte-identical (ordered rows, md5) for
(a) an incremental build and a --full-refresh build, (b) a rerun of the same day, and
(c) a backfill of an earlier date (incremental) and a --full-refresh build for that date."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import psycopg

from tests.pipeline.conftest import _new_db


def _next_day_platform(province, out) -> None:
    """A copy of the province whose platform changed since the last pull: every 20th record of
    each resource updated (a changed field for persons and households), every 97th one deleted.
    The simulator's clock is real time (the watermark is its server_time), so the changes are
    stamped now."""
    shutil.copytree(province, out)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat()
    for path in sorted((out / "platform").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i in range(0, len(lines), 20):
            record = json.loads(lines[i])
            record["updated_at"] = stamp
            if path.stem == "persons":
                record["work_months"] = 11
            if path.stem == "households" and record.get("phone"):
                record["phone"] = "13900000000"
            if i % 97 == 0 and path.stem not in ("regions", "grids"):
                record["is_deleted"] = True
            lines[i] = json.dumps(record, ensure_ascii=False)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fingerprint(url: str, run_date: dt.date, issues: bool = True) -> dict[str, str]:
    """md5 of the ordered rows of every mart (rpt_county_daily: the run date's slice, since a
    full refresh keeps only that day) and of dq.issue."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select 'marts.' || table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE'")]
        if issues:
            tables.append("dq.issue")
        out = {}
        for t in sorted(tables):
            where = f"where report_date = '{run_date}'" if t == "marts.rpt_county_daily" else ""
            out[t] = conn.execute(
                f"select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                f"from {t} as t {where}").fetchone()[0]
    return out


def _staging_equals_history(url: str) -> None:
    """Every current table is the latest version per key of its history."""
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_name like 'platform\\_%\\_current'")]
        assert len(names) == 11
        for cur in names:
            hist = cur.removesuffix("_current")
            diff = conn.execute(
                f"with best as (select distinct on (record_id) record_id, updated_at, is_deleted, payload "
                f"from raw.{hist} order by record_id, updated_at desc, load_batch_id desc) "
                f"select count(*) from ((select * from best except select record_id, updated_at, is_deleted, payload "
                f"from raw.{cur}) union all (select record_id, updated_at, is_deleted, payload from raw.{cur} "
                f"except select * from best)) d").fetchone()[0]
            assert diff == 0, cur


def test_incremental_full_rerun_and_backfill_agree(province, pg_server_url, pipeline_runner, run_date,
                                                   tmp_path_factory):
    from core.settings import Settings
    from expectations.validate import run_rules
    from pipeline.dbt import DAILY_BUILD, run_dbt

    day2 = run_date + dt.timedelta(days=1)
    url = _new_db(pg_server_url)
    gx = tmp_path_factory.mktemp("gx_incremental")

    settings = Settings.from_env(connection_id=None).replace(warehouse_url=url, gx_project_dir=gx)
    pipeline_runner(province, url, gx, run_date)
    later = tmp_path_factory.mktemp("next_day") / "province"
    _next_day_platform(province, later)
    pipeline_runner(later, url, gx, day2)             # day two: incremental build
    _staging_equals_history(url)
    with psycopg.connect(url) as conn:
        changed = conn.execute(
            "select count(*) from raw.platform_persons p join raw.load_batch b on b.batch_id = p.load_batch_id "
            "where b.run_date = %s", (day2,)).fetchone()[0]
        deleted = conn.execute("select count(*) from staging.stg_platform__households "
                               "where is_deleted").fetchone()[0]
    assert changed > 0 and deleted > 0               # the second day did change records
    incremental = _fingerprint(url, day2)

    # (a) a full refresh of the same data
    run_dbt([*DAILY_BUILD, "--quiet", "--full-refresh"], url, day2)
    run_rules(settings, day2)
    assert _fingerprint(url, day2) == incremental

    # (b) a rerun of the same day (the platform batches superseded, built incrementally)
    pipeline_runner(later, url, gx, day2, redeliver=False)
    _staging_equals_history(url)
    assert _fingerprint(url, day2) == incremental

    # (c) a backfill of the first day after the second: incremental, then a full refresh
    run_dbt([*DAILY_BUILD, "--quiet"], url, run_date)
    run_rules(settings, run_date)
    backfill = _fingerprint(url, run_date, issues=False)
    with psycopg.connect(url) as conn:
        # dq.issue only moves forward: a backfill changes nothing in it
        assert _fingerprint(url, day2)["dq.issue"] == incremental["dq.issue"]
        assert conn.execute("select count(*) from marts.rpt_county_daily "
                            "where report_date = %s", (day2,)).fetchone()[0] > 0
    run_dbt([*DAILY_BUILD, "--quiet", "--full-refresh"], url, run_date)
    assert _fingerprint(url, run_date, issues=False) == backfill
    assert backfill != {k: v for k, v in incremental.items() if k != "dq.issue"}
