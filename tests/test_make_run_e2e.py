"""`make run`'s driver end to end on a small province: embedded defaults except the
warehouse (a fresh test database), the real Airflow DAG under `airflow dags test`, cosmos
running dbt, GX, digests into an outbox. Slow (~2 min) but the only test of the DAG itself."""
from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
# what `make run` would otherwise take from the caller's environment instead of its defaults
OWN_DEFAULTS = ("PLATFORM_BASE_URL", "LANDING_DIR", "OUTBOX_DIR", "GX_PROJECT_DIR", "DBT_DOCS_DIR", "AIRFLOW_HOME")


def run_make_run(url: str, var: Path, households: int, seed: int, unset: tuple[str, ...] = ()) -> str:
    """`make run`'s driver for 2026-11-28 on a synthetic province into `var`; its stdout.
    Fails the test with the driver's output and the DAG's log when it fails."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_DEFAULTS + unset}
    env.update(WAREHOUSE_URL=url, FPR_VAR_DIR=str(var), RUN_DATE="2026-11-28",
               SIM_HOUSEHOLDS=str(households), SIM_SEED=str(seed))
    proc = subprocess.run([sys.executable, "-m", "local.run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    log = var / "airflow" / "last_run.log"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + (
        log.read_text()[-5000:] if log.exists() else "")
    return proc.stdout


def test_make_run_driver_runs_the_whole_dag(fresh_db_url, tmp_path):
    out = run_make_run(fresh_db_url, tmp_path / "var", households=300, seed=3)
    for part in ("platform/households", "yibao", "minzheng", "gongan", "fct_visit", "PAPER-01",
                 "预警邮件"):
        assert part in out, f"summary lacks {part}"
    with psycopg.connect(fresh_db_url) as conn:
        rules = conn.execute("select count(distinct rule_id) from dq.validation_run").fetchone()[0]
        marts = conn.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'marts'").fetchone()[0]
    from expectations.catalog import load_rules
    assert rules == len(load_rules()) and marts >= 17
    assert list((tmp_path / "var" / "outbox").glob("*.eml"))
    outbox = tmp_path / "var" / "outbox"
    assert not list(outbox.glob("failure_*.eml")), "a task failed"
    # the province plants a file cut off mid-row: the day's one report to the engineers names it
    reports = list(outbox.glob("report_*.eml"))
    assert len(reports) == 1
    text = email.message_from_bytes(reports[0].read_bytes(), policy=email.policy.default) \
        .get_body(("plain",)).get_content()
    assert "数据未能装载" in text and "被截断" in text
