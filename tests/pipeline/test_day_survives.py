"""One bad model costs only itself: the day's other rules run, every supervisor gets a digest,
and the engineers get one report per run that names what failed (issue: a 20-digit amount
already in raw made dbt fail, every later step was skipped and nobody was told)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy

import psycopg
import pytest

from core.settings import Settings
from pipeline import steps
from tests.pipeline.conftest import RUN_DATE, _new_db


@pytest.fixture()
def day_env(province, pg_server_url, tmp_path, monkeypatch):
    from sim.platform_server import start_simulator

    url = _new_db(pg_server_url)
    outbox = tmp_path / "outbox"
    for k, v in dict(WAREHOUSE_URL=url, LANDING_DIR=str(province / "landing"), OUTBOX_DIR=str(outbox),
                     GX_PROJECT_DIR=str(tmp_path / "gx"), DBT_DOCS_DIR=str(tmp_path / "docs")).items():
        monkeypatch.setenv(k, v)
    with start_simulator(province, client_id="t", client_secret="s") as sim:
        monkeypatch.setenv("PLATFORM_BASE_URL", sim.url)
        monkeypatch.setenv("PLATFORM_CLIENT_ID", "t")
        monkeypatch.setenv("PLATFORM_CLIENT_SECRET", "s")
        yield url, outbox


def _poison_fund_payment(url: str) -> None:
    """A legacy row no reader would let in today, already in raw (as a site upgrading has)."""
    with psycopg.connect(url, autocommit=True) as conn:
        n = conn.execute("update raw.feed_fund_payment set amount = 1e20 where line_no = "
                         "(select min(line_no) from raw.feed_fund_payment)").rowcount
    assert n >= 1


def test_a_failing_model_costs_only_its_own_rules(day_env):
    url, outbox = day_env
    outcomes = {"run_date": RUN_DATE.isoformat(),
                "ingest_platform": steps.ingest_platform(Settings.from_env(), RUN_DATE),
                "ingest_feeds": steps.ingest_feeds(Settings.from_env(), RUN_DATE)}
    _poison_fund_payment(url)

    built = steps.transform(Settings.from_env(), RUN_DATE)
    assert not built["success"] and built["failed"], built
    assert any("fund" in r for r in built["unavailable"]), built["unavailable"]
    assert "marts.fct_visit" not in built["unavailable"]

    outcomes["transform"] = built
    quality = steps.run_quality(Settings.from_env(), RUN_DATE, built=built)
    outcomes["quality"] = quality
    not_run = {r["rule_id"] for r in quality["not_run"]}
    assert {"FUND-02", "FUND-03"} <= not_run
    assert not any(r.startswith(("PAPER", "GRID", "MISS")) for r in not_run)
    with psycopg.connect(url) as conn:
        found = {r[0] for r in conn.execute("select distinct rule_id from dq.issue where status='open'")}
    assert {"PAPER-01", "GRID-01"} <= found

    alerts = steps.send_alerts(Settings.from_env(), RUN_DATE)
    outcomes["alerts"] = alerts
    assert alerts["digests"] and not alerts["failures"]
    digests = [p for p in outbox.glob("*.eml") if not p.name.startswith(("report_", "failure_"))]
    assert digests, "no supervisor got a digest"

    outcomes.update(bi_access="ok", dbt_docs="ok")
    with pytest.raises(RuntimeError, match="dbt"):
        steps.close_day(Settings.from_env(), "fpr_daily_monitoring", "manual__t1", RUN_DATE, outcomes)
    with pytest.raises(RuntimeError):   # a retry of the last task: still one report
        steps.close_day(Settings.from_env(), "fpr_daily_monitoring", "manual__t1", RUN_DATE, outcomes)
    reports = list(outbox.glob("report_*.eml"))
    assert len(reports) == 1
    body = email.message_from_bytes(reports[0].read_bytes(), policy=email.policy.default) \
        .get_body(("plain",)).get_content()
    assert "FUND-02" in body and "dbt 构建失败的节点" in body


def test_a_failed_task_and_what_it_skipped_make_one_report(day_env):
    """Failures recorded by the tasks' callback end up in one report naming the first."""
    url, outbox = day_env
    from pipeline.run_report import record_task_failure

    class TI:  # what Airflow hands the callback, reduced to the attributes it reads
        dag_id, task_id, run_id, try_number, max_tries, hostname, map_index = (
            "fpr_daily_monitoring", "ingest_platform", "manual__t2", 3, 2, "worker-1", -1)
        log_url = ""

    try:
        raise ConnectionError("平台接口连接被拒绝 password=hunter2")
    except ConnectionError as exc:
        record_task_failure({"ti": TI(), "exception": exc})
    outcomes = {t: None for t in ("run_date", "ingest_platform", "ingest_feeds")}
    outcomes["run_date"] = RUN_DATE.isoformat()
    with pytest.raises(RuntimeError) as err:
        steps.close_day(Settings.from_env(), "fpr_daily_monitoring", "manual__t2", RUN_DATE, outcomes)
    assert "ingest_platform" in str(err.value) and "ingest_feeds" in str(err.value)
    reports = list(outbox.glob("report_*.eml"))
    assert len(reports) == 1
    text = reports[0].read_text(errors="replace")
    assert "hunter2" not in text
    assert not list(outbox.glob("failure_*.eml")), "the failure was mailed on its own too"


def test_nothing_wrong_sends_no_report(day_env):
    url, outbox = day_env
    with psycopg.connect(url, autocommit=True) as conn:
        from core.schema import ensure_schema
        ensure_schema(conn, "raw", "dq")
    outcomes = {t: {"ok": True} for t in ("run_date", "transform", "quality", "alerts")}
    assert steps.close_day(Settings.from_env(), "fpr_daily_monitoring", "manual__t3", RUN_DATE, outcomes) == "ok"
    assert not list(outbox.glob("report_*.eml"))


def test_backfill_of_a_past_date_sends_no_digest_and_pulls_nothing(day_env):
    """After the run for D, a backfill of D-1 neither mails supervisors out-of-date digests nor
    stores the platform's current state as D-1's."""
    url, outbox = day_env
    steps.ingest_platform(Settings.from_env(), RUN_DATE)
    steps.ingest_feeds(Settings.from_env(), RUN_DATE)
    from core.schema import ensure_schema
    from expectations import dq_store
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_schema(conn, "dq")
        dq_store.sync_issues(conn, RUN_DATE, ["PAPER-01"], [])   # the rules ran for RUN_DATE
        batches = conn.execute("select count(*) from raw.load_batch where source='platform'").fetchone()[0]
    past = RUN_DATE - dt.timedelta(days=1)
    pulled = steps.ingest_platform(Settings.from_env(), past)
    assert "skipped" in pulled and not pulled["loaded"]
    sent = steps.send_alerts(Settings.from_env(), past)
    assert "skipped" in sent and not sent["digests"]
    assert not list(outbox.glob("*.eml"))
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.load_batch where source='platform'").fetchone()[0] == batches
