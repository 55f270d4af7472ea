"""Deliver messages: `.eml` files in the outbox by default; SMTP through the Airflow SMTP
provider connection when ALERT_SMTP_CONN_ID names one (STARTTLS and login come from it).

A digest is recorded in dq.alert_delivery once sent: the same digest (same recipient, day and
content) is never sent twice, and a failed send keeps the .eml in the outbox so nothing is lost.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from email.message import EmailMessage
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

DELIVERY_DDL = """
create table if not exists dq.alert_delivery (
    digest_key   text not null,        -- recipient group + run date
    content_hash text not null,
    run_date     date not null,
    channel      text not null,        -- outbox / smtp
    recipients   text not null,
    subject      text not null,
    sent_at      timestamptz not null default now(),
    primary key (digest_key, content_hash)
);
comment on table dq.alert_delivery is '已发送的预警摘要邮件（同一收件人同一天同样内容只发一次）';
"""


def content_hash(msg: EmailMessage) -> str:
    # Message-ID differs every build; hash what the reader sees.
    body = msg.get_body(("plain",))
    text = body.get_content() if body else ""
    return hashlib.sha256(f"{msg['To']}\n{msg['Subject']}\n{text}".encode()).hexdigest()


def already_sent(conn: psycopg.Connection, key: str, digest: str) -> bool:
    return conn.execute("select 1 from dq.alert_delivery where digest_key=%s and content_hash=%s",
                        (key, digest)).fetchone() is not None


def write_eml(msg: EmailMessage, outbox: Path, name: str) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{name}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)     # atomic: a reader never sees half a message
    return path


def send_smtp(msg: EmailMessage, conn_id: str, attempts: int = 3, backoff: float = 2.0) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    for attempt in range(1, attempts + 1):
        try:
            with SmtpHook(smtp_conn_id=conn_id) as hook:
                hook.get_conn()._smtp_client.send_message(msg)
            return
        except Exception as exc:  # transient SMTP trouble: retry, then report
            log.warning("SMTP 发送失败（第 %s 次）：%s", attempt, exc)
            if attempt == attempts:
                raise
            time.sleep(backoff * attempt)


def deliver(conn: psycopg.Connection, msg: EmailMessage, *, key: str, run_date: dt.date,
            outbox: Path, name: str) -> str:
    """Returns 'skipped' (already sent), 'outbox' or 'smtp'."""
    conn.execute(DELIVERY_DDL)
    digest = content_hash(msg)
    if already_sent(conn, key, digest):
        return "skipped"
    write_eml(msg, outbox, name)             # always kept: the outbox is the record
    conn_id = os.environ.get("ALERT_SMTP_CONN_ID")
    channel = "outbox"
    if conn_id:
        send_smtp(msg, conn_id)
        channel = "smtp"
    conn.execute(
        "insert into dq.alert_delivery (digest_key, content_hash, run_date, channel, recipients, subject) "
        "values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
        (key, digest, run_date, channel, msg["To"], msg["Subject"]))
    conn.commit()
    return channel
