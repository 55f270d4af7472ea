"""FRESH-02 (部门数据量异常) through the real GX rule runner on a real PostgreSQL: a half-size
file and a file with 30% rejects are flagged; a normal file, a weekly/on-change folder and a
folder with too little history are not."""
import datetime as dt

import psycopg

from core.settings import Settings

RUN = dt.date(2026, 11, 28)


def _file(conn, folder, day, rows_in, rejected=0, status="succeeded"):
    conn.execute(
        "insert into raw.load_batch (source, entity, origin, run_date, file_date, status, "
        "rows_in, rows_loaded, rows_rejected) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (folder, folder, f"{folder}_{day:%Y%m%d}.csv", day, day, status, rows_in,
         rows_in - rejected, rejected))


def _history(conn, folder, sizes):
    for back, n in enumerate(sizes, start=1):
        _file(conn, folder, RUN - dt.timedelta(days=back), n)


def test_fresh02_half_size_and_rejects(fresh_db_url, tmp_path, monkeypatch):
    from core.schema import ensure_schema
    from core.warehouse import connect
    from expectations.validate import run_rules

    with connect(fresh_db_url) as conn:
        ensure_schema(conn, "raw")
        # median of the previous 14 = 100 (older, larger deliveries fall outside the window)
        _history(conn, "yibao", [100] * 14 + [900] * 6)
        _file(conn, "yibao", RUN, 49)                      # below half: flagged
        _history(conn, "minzheng", [100, 90, 110, 100, 95])
        _file(conn, "minzheng", RUN, 50)                   # exactly half: not below it
        _history(conn, "gongan", [40] * 6)
        _file(conn, "gongan", RUN, 40, rejected=12)        # 30% rejected: flagged
        _history(conn, "jiaoyu", [40] * 6)
        _file(conn, "jiaoyu", RUN, 40, rejected=8)         # 20% exactly: not above
        _history(conn, "canlian", [100] * 4)               # only 4 earlier deliveries
        _file(conn, "canlian", RUN, 10)
        _history(conn, "zhujian", [100] * 6)
        _file(conn, "zhujian", RUN, 10, status="superseded")   # replaced by a corrected file
        _file(conn, "zhujian", RUN, 95)
        _history(conn, "fund_payment", [100] * 6)          # cadence on_change: never judged
        _file(conn, "fund_payment", RUN, 1)
    monkeypatch.setenv("WAREHOUSE_URL", fresh_db_url)
    monkeypatch.setenv("GX_PROJECT_DIR", str(tmp_path / "gx"))
    run_rules(Settings.from_env(), RUN, families=["FRESH"])
    with psycopg.connect(fresh_db_url) as conn:
        found = dict(conn.execute(
            "select entity_id, detail from dq.issue where rule_id='FRESH-02' and status='open'"))
    day = f"{RUN:%Y%m%d}"
    assert set(found) == {f"yibao_{day}.csv", f"gongan_{day}.csv"}
    assert "49 行" in found[f"yibao_{day}.csv"] and "100.0 行" in found[f"yibao_{day}.csv"]
    assert "30.0%" in found[f"gongan_{day}.csv"]
