"""Rebuild the report marts after the day's rules ran. rpt_monthly_review and
rpt_grid_worker_monthly read dq.issue, so the daily dbt build leaves them out (they are
enabled by the dbt var `build_reports`); the periodic DAGs build them here."""
from __future__ import annotations

import datetime as dt

from pipeline.dbt import DBT_PROJECT_DIR, run_dbt

REPORT_MARTS = "feed_cadence path:models/marts/reports"


def income_thresholds() -> dict[str, float]:
    """The income monitoring threshold per year from config/policy.yml (what MISS-01 uses)."""
    from expectations import policy

    return {str(y): float(v) for y, v in policy.load_policy()["income_threshold_per_year"].items()
            if str(y) != "default"}   # MISS-01 joins on the year: a default never applies


def rebuild_report_marts(run_date: dt.date, url: str | None = None) -> None:
    from core import warehouse

    try:
        run_dbt(["build", "--quiet", "--select", *REPORT_MARTS.split(),
                 # its own target: the daily build's manifest keeps these marts disabled
                 "--target-path", str(DBT_PROJECT_DIR.parent / "var" / "dbt_reports_target")],
                url or warehouse.warehouse_url(), run_date,
                extra_vars={"build_reports": True, "income_thresholds": income_thresholds()})
    except RuntimeError as exc:
        raise RuntimeError(f"报告集市构建失败：{exc}") from exc
