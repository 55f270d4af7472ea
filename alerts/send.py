"""The alert step: one digest per recipient per run, routed per the routing file, and one card
per group robot.

A recipient gets nothing when nothing changed in their regions since their last digest (unless
`always_send`); the same digest is never sent twice (dq.alert_delivery, shared by every host);
a digest whose SMTP send failed stays in the outbox and is not recorded as sent. Whatever goes
wrong for one recipient or robot (a bad address, an SMTP refusal, a render error, a webhook
error) is logged once, returned in `failures`, and never stops the others; at the end the step
raises AlertDeliveryFailed (carrying the whole result) so Airflow retries it and then reports it.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import psycopg

from alerts import delivery, digest, robots, routing, state
from alerts.collect import DigestData, collect
from alerts.masking import mask_text
from core.schema import ensure_schema

log = logging.getLogger(__name__)


class AlertDeliveryFailed(RuntimeError):
    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


def _slug(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", email)


def _row(d: DigestData) -> dict:
    a = d.audience
    row = {"counties": sorted(a.counties), "towns": sorted(a.towns), "open": len(d.open), "new": len(d.new),
           "resolved": len(d.resolved)}
    if a.robot:
        return {"robot": a.robot.label, "kind": a.robot.kind, **row}
    return {"recipient": a.recipient.email, "to": [a.recipient.email],
            "fallback": a.unrouted and bool(d.open or d.resolved), **row}


def _send_email(conn, d: DigestData, route: routing.Routing, run_date: dt.date, outbox: Path, row: dict,
                settings) -> None:
    a = d.audience
    msg = digest.build_message(d, route.sender)
    _attach_checklists(msg, Path(outbox), run_date, a.towns)
    row["subject"] = str(msg["Subject"])
    try:
        status = delivery.deliver(conn, msg, key=a.key, run_date=run_date, outbox=Path(outbox),
                                  name=f"{run_date:%Y%m%d}_{_slug(a.recipient.email)}", settings=settings)
    except delivery.DeliveryError as exc:
        row["eml"] = str(exc.eml)
        raise
    if status != "skipped":
        state.record(conn, a.key, run_date, d.open_keys, len(d.new), len(d.resolved),
                     delivery.content_hash(msg))
        conn.commit()
    row["status"] = status


def _send_card(conn, d: DigestData, run_date: dt.date, row: dict, settings) -> None:
    a = d.audience
    status = robots.deliver_card(conn, a.robot, d, key=a.key, run_date=run_date, settings=settings)
    if status != "skipped":
        state.record(conn, a.key, run_date, d.open_keys, len(d.new), len(d.resolved), robots.card_hash(d, a.key))
        conn.commit()
    row["status"] = status


def send_digests(conn: psycopg.Connection, run_date: dt.date, settings,
                 raise_on_failure: bool = True) -> dict:
    """Returns {"run_date", "ok", "digests", "cards", "failures"} (see docs/alerts.md);
    raises AlertDeliveryFailed(.result = that dict) when something failed and raise_on_failure.
    `settings`: outbox, routing file, SMTP and robot settings, Data Docs address."""
    outbox = settings.outbox_dir
    route = routing.load_routing(settings.routing_file)
    ensure_schema(conn, "dq")
    conn.commit()
    digests, cards, failures = [], [], []
    for d in collect(conn, run_date, route, settings.data_docs_base_url):
        a = d.audience
        row = _row(d)
        (cards if a.robot else digests).append(row)
        if not d.changed and not (a.always_send or (d.first_digest and d.open)):
            row["status"] = "unchanged"
            continue
        try:
            if a.robot:
                _send_card(conn, d, run_date, row, settings)
            else:
                _send_email(conn, d, route, run_date, outbox, row, settings)
        except Exception as exc:  # noqa: BLE001  one recipient's trouble never stops the others
            conn.rollback()
            error = mask_text(f"{type(exc).__name__}: {exc}" if not isinstance(
                exc, (delivery.DeliveryError, robots.RobotError)) else str(exc))
            channel = a.robot.kind if a.robot else "email"
            target = a.robot.label if a.robot else a.recipient.email
            log.error("预警%s发送失败（%s）：%s", "群机器人消息" if a.robot else "摘要", target, error)
            row.update(status="failed", error=error)
            failures.append({"channel": channel, "target": target, "error": error,
                             "counties": row["counties"], "towns": row["towns"]})
    result = {"run_date": run_date.isoformat(), "ok": not failures, "digests": digests, "cards": cards,
              "failures": failures}
    if failures and raise_on_failure:
        raise AlertDeliveryFailed(
            f"{len(failures)} 份预警摘要或群机器人消息发送失败（未记为已发送，重跑时会重发；邮件保存在发件箱）："
            + "；".join(f"{f['target']}：{f['error']}" for f in failures), result)
    return result


def _attach_checklists(msg, outbox: Path, run_date: dt.date, towns: set[str]) -> None:
    """A town recipient gets the day's checklist workbook of each of their towns (followup/)."""
    from followup.checklist import town_workbooks

    for path in town_workbooks(outbox, run_date, towns):
        msg.add_attachment(path.read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename=path.name)
