"""Rebuild the report marts after the day's rules ran. rpt_monthly_review and
rpt_grid_worker_monthly read dq.issue, so the daily dbt build leaves them out (they are
enabled by the dbt var `build_reports`); the periodic DAGs build them here."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.settings import VAR
from pipeline.dbt import run_dbt

REPORT_MARTS = "feed_cadence path:models/marts/reports"


def income_thresholds(policy_file: Path) -> dict[str, float]:
    """The income monitoring threshold per year from the policy file (what MISS-01 uses)."""
    from expectations import policy

    return {str(y): float(v) for y, v in policy.load_policy(policy_file)["income_threshold_per_year"].items()
            if str(y) != "default"}   # MISS-01 joins on the year: a default never applies


def rebuild_report_marts(settings, run_date: dt.date) -> None:
    try:
        run_dbt(["build", "--quiet", "--select", *REPORT_MARTS.split(),
                 # its own target: the daily build's manifest keeps these marts disabled
                 "--target-path", str(VAR / "dbt_reports_target")],
                settings.require_warehouse_url(), run_date, threads=settings.dbt_threads,
                extra_vars={"build_reports": True, "income_thresholds": income_thresholds(settings.policy_file)})
    except RuntimeError as exc:
        raise RuntimeError(f"报告集市构建失败：{exc}") from exc
