"""Per-recipient memory of the last digest sent, so "new / resolved since the last digest" and
"nothing changed" are right. One row per recipient and run date; the baseline for a run is the
latest row from an earlier run date (a re-run on the same day compares with the same baseline,
so it produces the same digest, which delivery then refuses to send twice)."""
from __future__ import annotations

import datetime as dt

import psycopg


def issue_key(issue: dict) -> str:
    return f"{issue['rule_id']}|{issue['entity_id']}"


def baseline(conn: psycopg.Connection, recipient_key: str, run_date: dt.date) -> set[str] | None:
    """Open issue keys of the last digest sent for an earlier run date; None if there was none."""
    row = conn.execute(
        "select open_keys from dq.alert_digest_state where recipient_key = %s and run_date < %s "
        "order by run_date desc limit 1", (recipient_key, run_date)).fetchone()
    return set(row[0]) if row else None


def record(conn: psycopg.Connection, recipient_key: str, run_date: dt.date, open_keys: set[str],
           new_count: int, resolved_count: int, content_hash: str) -> None:
    conn.execute(
        """insert into dq.alert_digest_state (recipient_key, run_date, open_keys, open_count,
               new_count, resolved_count, content_hash)
           values (%s, %s, %s, %s, %s, %s, %s)
           on conflict (recipient_key, run_date) do update set open_keys = excluded.open_keys,
               open_count = excluded.open_count, new_count = excluded.new_count,
               resolved_count = excluded.resolved_count, content_hash = excluded.content_hash,
               sent_at = now()""",
        (recipient_key, run_date, sorted(open_keys), len(open_keys), new_count, resolved_count,
         content_hash))
