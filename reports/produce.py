"""Produce a periodic report for a date: collect, render (Chinese, masked), write the XLSX
under REPORTS_DIR (default var/reports/<kind>/) and deliver the e-mail through the alerts'
delivery (outbox .eml; SMTP when ALERT_SMTP_CONN_ID is set; never the same content twice)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from alerts import routing
from reports import backcheck, monthly, quarterly, weekly
from reports.charts import monthly_trend_chart
from reports.common import build_message, deliver, recipients_for, xlsx_bytes

KINDS = ("weekly", "monthly", "quarterly")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _save(settings, kind: str, name: str, blob: bytes) -> Path:
    path = Path(settings.reports_dir) / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path


def _send(conn, route, to, msg_kw, *, key, run_date, name, settings) -> str:
    msg = build_message(sender=route.sender, to=to, **msg_kw)
    return deliver(conn, msg, key=key, run_date=run_date, name=name, settings=settings)


def produce_weekly(conn, run_date: dt.date, settings, seed: int = backcheck.DEFAULT_SEED) -> list[dict]:
    route = routing.load_routing(settings.routing_file)
    draws = backcheck.weekly_draw(conn, run_date, seed=seed)
    out = []
    for w in weekly.collect(conn, run_date, draws, settings.outbox_dir):
        xlsx = xlsx_bytes(weekly.xlsx_sheets(w), run_date)
        fname = f"周排查_{w.town_code}_{w.week_start:%Y%m%d}.xlsx"
        path = _save(settings, "weekly", fname, xlsx)
        to, fallback = recipients_for(route, w.town_code)
        if fallback:
            to, fallback = recipients_for(route, w.town_code[:6])
        status = _send(conn, route, to, {"subject": weekly.subject(w), "text": weekly.render_text(w),
                                             "html_body": weekly.render_html(w), "attachments": [(fname, xlsx)]},
                       key=f"weekly:{w.town_code}", run_date=run_date, settings=settings,
                       name=f"weekly_{w.week_start:%Y%m%d}_{w.town_code}")
        out.append({"town": w.town_code, "xlsx": str(path), "status": status, "fallback": fallback,
                    "visits": len(w.visits), "backcheck": len(w.backcheck)})
    return out


def produce_monthly(conn, run_date: dt.date, settings) -> list[dict]:
    route = routing.load_routing(settings.routing_file)
    out = []
    for r in monthly.collect(conn, run_date):
        xlsx = xlsx_bytes(monthly.xlsx_sheets(r), run_date)
        fname = f"月研判_{r.county_code}_{run_date:%Y%m}.xlsx"
        path = _save(settings, "monthly", fname, xlsx)
        to, fallback = recipients_for(route, r.county_code)
        status = _send(conn, route, to, {"subject": monthly.subject(r), "text": monthly.render_text(r),
                                             "html_body": monthly.render_html(r),
                                             "images": {"monthly_trend": monthly_trend_chart(r.months)},
                                             "attachments": [(fname, xlsx)]},
                       key=f"monthly:{r.county_code}", run_date=run_date, settings=settings,
                       name=f"monthly_{run_date:%Y%m}_{r.county_code}")
        out.append({"county": r.county_code, "xlsx": str(path), "status": status, "fallback": fallback})
    return out


def produce_quarterly(conn, run_date: dt.date, settings) -> list[dict]:
    route = routing.load_routing(settings.routing_file)
    q = quarterly.collect(conn, run_date)
    xlsx = xlsx_bytes(quarterly.xlsx_sheets(q), run_date)
    fname = f"季联动_{_slug(q.quarter_label) or run_date.isoformat()}_{run_date:%Y%m%d}.xlsx"
    path = _save(settings, "quarterly", fname, xlsx)
    to = [r for c in sorted(route.counties) for r in route.regions[c]] or [route.fallback]
    status = _send(conn, route, to, {"subject": quarterly.subject(q), "text": quarterly.render_text(q),
                                         "html_body": quarterly.render_html(q), "attachments": [(fname, xlsx)]},
                   key="quarterly", run_date=run_date, settings=settings, name=f"quarterly_{run_date:%Y%m%d}")
    return [{"quarter": q.quarter_label, "xlsx": str(path), "status": status, "departments": len(q.departments)}]


def produce(kind: str, run_date: dt.date, settings, conn=None, rebuild: bool = True) -> list[dict]:
    """The one entry point the DAGs and the CLI call: rebuild the report marts (they read the
    day's dq.issue), then produce the report. `settings`: warehouse, outbox, report folder,
    routing file, delivery."""
    from core import warehouse
    from core.schema import ensure_schema
    from reports.marts import rebuild_report_marts

    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}; one of {KINDS}")
    if rebuild:
        rebuild_report_marts(settings, run_date)
    own = conn is None
    conn = conn or warehouse.connect(settings.require_warehouse_url(), autocommit=False)
    try:
        ensure_schema(conn, "dq", "reports")
        fn = {"weekly": produce_weekly, "monthly": produce_monthly, "quarterly": produce_quarterly}[kind]
        result = fn(conn, run_date, settings)
        conn.commit()
        return result
    finally:
        if own:
            conn.close()


def report_day(kind: str, param: str | None, logical_or_run_after) -> dt.date:
    """The date a DAG run reports on: the `run_date` param, else the run's date in
    Asia/Shanghai; the monthly and quarterly runs (on the 1st) report on the day before,
    the last day of the month or quarter under review."""
    from pipeline import steps

    day = dt.date.fromisoformat(steps.resolve_run_date(param, logical_or_run_after))
    return day if param or kind == "weekly" else day - dt.timedelta(days=1)


def produce_for_dag(kind: str, day: str) -> list[dict]:
    """DAG task body: the settings from the environment (the warehouse: WAREHOUSE_URL or the
    Airflow connection)."""
    from core.settings import Settings

    return produce(kind, dt.date.fromisoformat(day), Settings.from_env())
