"""Which files a run loads: redelivery, corrections, waiting files, catch-up, failures."""
from __future__ import annotations

import datetime as dt

from feedfiles import RUN_DATE, assert_balanced, batches, rows, write_csv

from ingest.feeds import load_all, load_folder

HEADER = "身份证号,姓名,事件类型(死亡/户口迁出),事件日期,登记机关"


def _gongan(landing, day, *names):
    lines = [HEADER] + [f"34122519900101{1000 + i},{n},死亡,2026-11-01,所" for i, n in enumerate(names)]
    return write_csv(landing, "gongan", day, lines)


def test_identical_redelivery_loads_nothing_new(conn, landing):
    _gongan(landing, "20261127", "张三", "李四")
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (s.status, s.rows_loaded) == ("succeeded", 2)
    _gongan(landing, "20261127", "张三", "李四")            # same bytes delivered again
    for _ in range(2):                                     # and the daily runs that follow
        [s] = load_folder(conn, landing, "gongan", RUN_DATE)
        assert s.status == "unchanged"
    assert len(rows(conn, "gongan")) == 2
    assert [b["status"] for b in batches(conn, "gongan")] == ["succeeded"]   # no duplicate spam


def test_same_bytes_under_another_date_recorded_once_as_duplicate(conn, landing):
    first = _gongan(landing, "20261126", "张三")
    (landing / "gongan" / "gongan_20261127.csv").write_bytes(first.read_bytes())
    s1, s2 = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (s1.status, s2.status) == ("succeeded", "duplicate")
    assert "sha256" in s2.message
    s1, s2 = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (s1.status, s2.status) == ("unchanged", "unchanged")
    assert [b["status"] for b in batches(conn, "gongan")] == ["succeeded", "duplicate"]
    assert len(rows(conn, "gongan")) == 1


def test_header_only_files_on_two_days_are_both_loaded(conn, landing):
    _gongan(landing, "20261126")
    _gongan(landing, "20261127")                           # identical bytes, but no data
    statuses = [s.status for s in load_folder(conn, landing, "gongan", RUN_DATE)]
    assert statuses == ["succeeded", "succeeded"]


def test_corrected_file_replaces_old_rows(conn, landing):
    _gongan(landing, "20261127", "张三", "李四", "王五")
    [old] = load_folder(conn, landing, "gongan", RUN_DATE)
    _gongan(landing, "20261127", "张三", "李四改")           # corrected redelivery
    [new] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert new.status == "succeeded" and new.superseded == [old.batch_id]
    assert [r["name"] for r in rows(conn, "gongan")] == ["张三", "李四改"]
    assert {r["load_batch_id"] for r in rows(conn, "gongan")} == {new.batch_id}
    assert [b["status"] for b in batches(conn, "gongan")] == ["superseded", "succeeded"]
    assert_balanced(conn)
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s.status == "unchanged"


def test_failed_correction_keeps_old_rows_and_is_retried(conn, landing):
    _gongan(landing, "20261127", "张三")
    load_folder(conn, landing, "gongan", RUN_DATE)
    write_csv(landing, "gongan", "20261127", ["身份证号,姓名,事件类型", "341225199001011234,张三,死亡"])
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s.status == "failed" and s.batch_id is not None
    assert [r["name"] for r in rows(conn, "gongan")] == ["张三"]   # old batch still stands
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)          # retried next run
    assert s.status == "failed"
    assert [b["status"] for b in batches(conn, "gongan")] == ["succeeded", "failed", "failed"]


def test_future_files_wait_and_missed_days_catch_up_in_order(conn, landing):
    for day in ("20261129", "20261127", "20261125", "20261126"):
        _gongan(landing, day, f"人{day[-2:]}")
    (landing / "gongan" / "gongan_2026-11-27.csv").write_text("x")   # badly named
    summaries = load_folder(conn, landing, "gongan", dt.date(2026, 11, 27))
    by_status = {}
    for s in summaries:
        by_status.setdefault(s.status, []).append(s.file)
    assert by_status["succeeded"] == ["gongan_20261125.csv", "gongan_20261126.csv", "gongan_20261127.csv"]
    assert by_status["waiting"] == ["gongan_20261129.csv"]
    assert by_status["ignored"] == ["gongan_2026-11-27.csv"]
    dates = [b["file_date"] for b in batches(conn, "gongan")]
    assert dates == sorted(dates) == [dt.date(2026, 11, d) for d in (25, 26, 27)]
    summaries = load_folder(conn, landing, "gongan", dt.date(2026, 11, 29))
    assert [s.status for s in summaries if s.file.endswith("29.csv")] == ["succeeded"]
    assert len(rows(conn, "gongan")) == 4


def test_load_all_continues_after_a_failure(conn, landing):
    write_csv(landing, "gongan", "20261127", [HEADER, "341225199001011234,张三,死"], newline_at_end=False)
    write_csv(landing, "gongan", "20261128", [HEADER, "341225199001011234,张三,死亡,2026-11-01,所"])
    write_csv(landing, "renshe", "20261128", ["身份证号,姓名,就业状态,就业地,月收入,公益性岗位,登记日期",
                                               "341225199001011234,张三,已就业,县内,3000,否,2026-11-01"])
    summaries = load_all(conn, landing, RUN_DATE)
    got = [(s.folder, s.file, s.status) for s in summaries]
    assert got == [("gongan", "gongan_20261127.csv", "failed"),
                   ("gongan", "gongan_20261128.csv", "succeeded"),
                   ("renshe", "renshe_20261128.csv", "succeeded")]
    assert_balanced(conn)


def test_two_files_for_one_day_newest_wins(conn, landing):
    import os

    from feedfiles import write_xlsx

    old = _gongan(landing, "20261127", "旧")
    new = write_xlsx(landing, "gongan", "20261127",
                     [HEADER.split(","), ["341225199001011234", "新", "死亡", "2026-11-01", "所"]])
    os.utime(old, (1_700_000_000, 1_700_000_000))
    summaries = load_folder(conn, landing, "gongan", RUN_DATE)
    assert sorted((s.file, s.status) for s in summaries) == [
        (old.name, "ignored"), (new.name, "succeeded")]
    assert [r["name"] for r in rows(conn, "gongan")] == ["新"]
    assert [s.status for s in load_folder(conn, landing, "gongan", RUN_DATE)] == ["ignored", "unchanged"]


def test_load_all_on_an_empty_warehouse(fresh_db_url, landing):
    import psycopg

    _gongan(landing, "20261127", "张三")
    with psycopg.connect(fresh_db_url, autocommit=True) as c:   # no ensure_feed_tables first
        [s] = load_all(c, landing, RUN_DATE)
        assert (s.status, s.rows_loaded) == ("succeeded", 1)
        assert c.execute("select count(*) from raw.feed_yibao").fetchone()[0] == 0
