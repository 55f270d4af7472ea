"""The daily follow-up step, after the rules (dq.issue is today's) and before the digests."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import psycopg

from core.schema import ensure_schema
from expectations import dq_store
from followup import checklist, deadlines, intake
from followup.config import FollowupConfig, load_config

log = logging.getLogger(__name__)


def run(conn: psycopg.Connection, run_date: dt.date, landing_dir: Path, outbox_dir: Path,
        cfg: FollowupConfig | None = None) -> dict:
    """Verification intake, then deadlines and escalation, then the day's checklists.

    A date earlier than the latest merged run date (backfill, catch-up) does nothing: dq.issue
    moves forward only, and its verification files are taken in by the next current run.
    `conn` should be in autocommit mode (core.warehouse.connect()).
    """
    ensure_schema(conn, "dq")
    latest = dq_store.latest_run_date(conn)
    if latest is not None and run_date < latest:
        log.info("运行日期 %s 早于已处理的最新日期 %s：补跑，不处理核查结果、不升级、不出核查清单", run_date, latest)
        return {"catch_up": True, "latest_run_date": latest.isoformat()}
    taken = intake.intake_verifications(conn, Path(landing_dir), run_date)
    escalation = deadlines.escalate(conn, run_date, cfg)
    files = checklist.write_checklists(conn, run_date, Path(outbox_dir))
    return {"catch_up": False, "verification": taken, **escalation,
            "checklists": [str(p) for p in files]}


def run_step(settings, run_date: dt.date) -> dict:
    """run() with the pipeline's Settings (warehouse, landing folder, outbox, follow-up file)."""
    from core import warehouse

    s = settings
    with warehouse.connect(s.require_warehouse_url()) as conn:
        out = run(conn, run_date, s.landing_dir, s.outbox_dir, load_config(s.followup_config))
    out["checklists"] = len(out.get("checklists", []))     # XCom: a count, not every path
    return out
