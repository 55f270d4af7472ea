"""Deliver messages: `.eml` files in the outbox by default; SMTP through the Airflow connection
that ALERT_SMTP_CONN_ID names (TLS, STARTTLS and login come from it: smtp_session).

A digest is recorded in dq.alert_delivery once sent: the same digest (same recipient, day and
content) is never sent twice, and a failed send keeps the .eml in the outbox so nothing is lost.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import psycopg

from core import locks

log = logging.getLogger(__name__)
CONTENT_HASH_HEADER = "X-FPR-Content-Hash"    # set by digest.build_message


class DeliveryError(RuntimeError):
    """SMTP failed after every attempt; the message is still in the outbox."""

    def __init__(self, message: str, eml: Path):
        super().__init__(message)
        self.eml = eml


def content_hash(msg: EmailMessage) -> str:
    """The send-once key. A digest carries its own (X-FPR-Content-Hash, from what the reader
    gets minus anything host-dependent: links, chart bytes, Message-ID, Date); any other
    message: recipients, subject, plain text and CSV attachments."""
    if msg.get(CONTENT_HASH_HEADER):
        return str(msg[CONTENT_HASH_HEADER])
    h = hashlib.sha256(f"{msg['To']}\n{msg['Subject']}\n".encode())
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/csv"):
            h.update(part.get_payload(decode=True) or b"")
    return h.hexdigest()


def _permanent(exc: Exception) -> bool:
    """A 5xx refusal of the recipient or sender will not change on a retry."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= c < 600 for c in codes)
    return isinstance(exc, smtplib.SMTPSenderRefused) and code is not None and 500 <= code < 600


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


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@contextlib.contextmanager
def smtp_session(conn_id: str):
    """A logged-in smtplib client for the Airflow connection `conn_id`: host, port, login and
    password; implicit TLS unless its extra says disable_ssl, else STARTTLS unless disable_tls;
    `timeout` (30 s) and `ssl_context` ("none" skips certificate checks) as the SMTP provider
    reads them. Our own client: the provider's hook sends only messages it builds itself."""
    from airflow.sdk import BaseHook

    c = BaseHook.get_connection(conn_id)
    extra = c.extra_dejson
    context = None if extra.get("ssl_context") == "none" else ssl.create_default_context()
    kwargs = {"host": c.host or "", "timeout": int(extra.get("timeout", 30))}
    if c.port:
        kwargs["port"] = int(c.port)
    implicit_tls = not _flag(extra.get("disable_ssl", False))
    client = smtplib.SMTP_SSL(context=context, **kwargs) if implicit_tls else smtplib.SMTP(**kwargs)
    try:
        if not implicit_tls and not _flag(extra.get("disable_tls", False)):
            client.starttls(context=context)
            client.ehlo()
        if c.login and c.password:
            client.login(c.login, c.password)
        yield client
    finally:
        client.close()


def send_smtp(msg: EmailMessage, conn_id: str, attempts: int = 3, backoff: float = 5.0) -> None:
    """Send the ready multipart message through smtp_session(conn_id). Retried `attempts` times
    (Settings.smtp_attempts) with a growing pause (Settings.smtp_backoff seconds), then the last
    error is raised; a 5xx refusal is not retried."""
    for attempt in range(1, attempts + 1):
        try:
            with smtp_session(conn_id) as client:
                refused = client.send_message(msg)
            if refused:   # some recipients refused, others accepted: those refused did not get it
                raise smtplib.SMTPRecipientsRefused(refused)
            return
        except Exception as exc:  # transient SMTP trouble: retry, then report
            log.warning("SMTP 发送失败（第 %s/%s 次）：%s", attempt, attempts, exc)
            if attempt == attempts or _permanent(exc):
                raise
            time.sleep(backoff * attempt)


def deliver(conn: psycopg.Connection, msg: EmailMessage, *, key: str, run_date: dt.date,
            outbox: Path, name: str, settings) -> str:
    """Returns 'skipped' (this exact digest was already sent), 'outbox' or 'smtp' (when
    Settings.smtp_conn_id names an Airflow SMTP connection).
    Raises DeliveryError when SMTP fails after its retries; the .eml stays in the outbox and
    nothing is recorded, so the next run (or the task's retry) sends it again."""
    digest = content_hash(msg)
    with send_lock(conn, key, digest):
        if already_sent(conn, key, digest):
            return "skipped"
        eml = write_eml(msg, outbox, f"{name}_{digest[:8]}")   # always kept: the outbox is the record
        conn_id = settings.smtp_conn_id
        channel = "outbox"
        if conn_id:
            try:
                send_smtp(msg, conn_id, settings.smtp_attempts, settings.smtp_backoff)
            except Exception as exc:
                raise DeliveryError(f"SMTP 发送失败，邮件保存在 {eml}：{exc}", eml) from exc
            channel = "smtp"
        record_sent(conn, key, digest, run_date, channel, msg["To"], msg["Subject"])
    return channel


def record_sent(conn: psycopg.Connection, key: str, digest: str, run_date: dt.date, channel: str,
                recipients: str, subject: str) -> None:
    conn.execute(
        "insert into dq.alert_delivery (digest_key, content_hash, run_date, channel, recipients, subject) "
        "values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
        (key, digest, run_date, channel, recipients, subject))
    conn.commit()


@contextlib.contextmanager
def send_lock(conn: psycopg.Connection, key: str, digest: str):
    """Two hosts sending the same digest at once: the second waits, then finds it sent.
    A session-level advisory lock, so no transaction stays open while SMTP or HTTP runs."""
    lock_id = locks.digest_send(key, digest)
    conn.execute("select pg_advisory_lock(%s)", (lock_id,))
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()        # a failed statement must not block the unlock
        conn.execute("select pg_advisory_unlock(%s)", (lock_id,))
        conn.commit()
