"""Rebuild the report marts after the day's rules ran (they read dq.issue)."""
from __future__ import annotations

import datetime as dt

REPORT_MARTS = "path:models/marts/reports"


def rebuild_report_marts(run_date: dt.date, url: str | None = None) -> None:
    from ingest import warehouse
    from pipeline.dbt import run_dbt

    run_dbt(["build", "--quiet", "--select", f"feed_cadence {REPORT_MARTS}"], url or warehouse.warehouse_url(),
            run_date)
