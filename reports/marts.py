"""Rebuild the report marts after the day's rules ran. rpt_monthly_review and
rpt_grid_worker_monthly read dq.issue, so the daily dbt build leaves them out (they are
enabled by the dbt var `build_reports`); the periodic DAGs build them here."""
from __future__ import annotations

import datetime as dt
import os

from pipeline.dbt import DBT_PROJECT_DIR, profile_env

REPORT_MARTS = "feed_cadence path:models/marts/reports"


def rebuild_report_marts(run_date: dt.date, url: str | None = None) -> None:
    from dbt.cli.main import dbtRunner

    from ingest import warehouse

    os.environ.update(profile_env(url or warehouse.warehouse_url()))
    result = dbtRunner().invoke([
        "build", "--quiet", "--select", *REPORT_MARTS.split(),
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        # its own target: the daily DAG's cosmos reads target/manifest.json, where these
        # marts must stay disabled
        "--target-path", str(DBT_PROJECT_DIR.parent / "var" / "dbt_reports_target"),
        "--vars", f"{{run_date: '{run_date.isoformat()}', build_reports: true}}"])
    if not result.success:
        raise RuntimeError(f"报告集市构建失败：{result.exception or '见上方 dbt 日志'}")
