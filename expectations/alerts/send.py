"""The alert step: one digest per recipient per run, routed per the routing file.

A recipient gets nothing when nothing changed in their regions since their last digest (unless
`always_send`); the same digest is never sent twice (dq.alert_delivery); a digest whose SMTP
send failed stays in the outbox, is not recorded as sent, and makes the step fail at the end
(after every other recipient was served) so Airflow retries it and then reports it.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import psycopg

from expectations.alerts import delivery, digest, routing, state
from expectations.alerts.collect import collect

log = logging.getLogger(__name__)


class AlertDeliveryFailed(RuntimeError):
    pass


def _slug(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", email)


def send_digests(conn: psycopg.Connection, run_date: dt.date, outbox: Path,
                 routing_file: Path | None = None, raise_on_failure: bool = True) -> list[dict]:
    route = routing.load_routing(routing_file)
    state.ensure(conn)
    delivery.ensure(conn)
    conn.commit()
    results, failures = [], []
    for d in collect(conn, run_date, route):
        a = d.audience
        row = {"recipient": a.recipient.email, "to": [a.recipient.email], "counties": sorted(a.counties),
               "towns": sorted(a.towns), "fallback": a.unrouted and bool(d.open or d.resolved),
               "open": len(d.open), "new": len(d.new), "resolved": len(d.resolved)}
        if not d.changed and not (a.always_send or (d.first_digest and d.open)):
            row["status"] = "unchanged"
            results.append(row)
            continue
        msg = digest.build_message(d, route.sender)
        _attach_checklists(msg, Path(outbox), run_date, a.towns)
        row["subject"] = msg["Subject"]
        try:
            status = delivery.deliver(conn, msg, key=a.key, run_date=run_date, outbox=Path(outbox),
                                      name=f"{run_date:%Y%m%d}_{_slug(a.recipient.email)}")
        except delivery.DeliveryError as exc:
            conn.rollback()
            log.error("预警摘要发送失败（%s）：%s", a.recipient.email, exc)
            row.update(status="failed", error=str(exc), eml=str(exc.eml))
            failures.append(row)
            results.append(row)
            continue
        if status != "skipped":
            state.record(conn, a.key, run_date, d.open_keys, len(d.new), len(d.resolved),
                         delivery.content_hash(msg))
            conn.commit()
        row["status"] = status
        results.append(row)
    if failures and raise_on_failure:
        raise AlertDeliveryFailed(
            f"{len(failures)} 封预警摘要发送失败（已保存在发件箱，未记为已发送，重跑时会重发）："
            + "；".join(f"{f['recipient']}：{f['eml']}" for f in failures))
    return results


def _attach_checklists(msg, outbox: Path, run_date: dt.date, towns: set[str]) -> None:
    """A town recipient gets the day's checklist workbook of each of their towns (followup/)."""
    from followup.checklist import town_workbooks

    for path in town_workbooks(outbox, run_date, towns):
        msg.add_attachment(path.read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename=path.name)
