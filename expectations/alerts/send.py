"""The alert step: one digest per county with open issues, routed per the routing file."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import psycopg

from expectations.alerts import delivery, digest, routing

log = logging.getLogger(__name__)


def send_digests(conn: psycopg.Connection, run_date: dt.date, outbox: Path,
                 routing_file: Path | None = None) -> list[dict]:
    route = routing.load_routing(routing_file)
    results = []
    for d in digest.collect(conn, run_date):
        to, used_fallback = route.for_county(d.county_code)
        msg = digest.build_message(d, route.sender, to)
        key = f"county:{d.county_code}"
        status = delivery.deliver(conn, msg, key=key, run_date=run_date, outbox=outbox,
                                  name=f"{run_date:%Y%m%d}_county_{d.county_code or 'unknown'}")
        results.append({"county": d.county_code, "to": [r.email for r in to], "open": len(d.issues),
                        "new": len(d.new_today), "status": status, "fallback": used_fallback})
    return results
