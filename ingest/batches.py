"""Load batches: one transaction per batch, so a batch is visible only once committed.

Every loader follows the same shape:

    with open_batch(conn, source=..., entity=..., origin=..., run_date=...) as batch:
        batch.copy_rows("raw.feed_yibao", columns, rows)   # COPY
        batch.reject(line_no, payload, reason)             # raw.rejected_row
        batch.rows_in = n
    # commit: rows_in == rows_loaded + rows_rejected is enforced by a CHECK constraint

If the body raises, the whole batch is rolled back and a 'failed' load_batch row with the
error message is written in a transaction of its own, then the error propagates.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import psycopg

log = logging.getLogger(__name__)

class BatchRefused(Exception):
    """A whole file/endpoint cannot be trusted; the message is for a person (Chinese)."""


@dataclass
class Batch:
    conn: psycopg.Connection
    batch_id: int
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    watermark: dt.datetime | None = None
    message: str | None = None
    _rejects: list[tuple[int | None, str, str]] = field(default_factory=list)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
        """COPY rows into table, adding load_batch_id; returns the count copied."""
        cols = ", ".join(["load_batch_id", *columns])
        n = 0
        with self.conn.cursor().copy(f"copy {table} ({cols}) from stdin") as cp:
            for row in rows:
                cp.write_row((self.batch_id, *row))
                n += 1
        self.rows_loaded += n
        return n

    def reject(self, line_no: int | None, payload: str, reason: str) -> None:
        self._rejects.append((line_no, payload, reason))
        self.rows_rejected += 1
        if len(self._rejects) >= 5000:
            self.flush_rejects()

    def flush_rejects(self) -> None:
        if not self._rejects:
            return
        with self.conn.cursor().copy(
            "copy raw.rejected_row (batch_id, line_no, payload, reason) from stdin"
        ) as cp:
            for line_no, payload, reason in self._rejects:
                cp.write_row((self.batch_id, line_no, payload, reason))
        self._rejects.clear()


def _insert_batch(conn, status: str, **kw) -> int:
    cols = ["status", *kw]
    sql = (
        f"insert into raw.load_batch ({', '.join(cols)}) "
        f"values ({', '.join(['%s'] * len(cols))}) returning batch_id"
    )
    return conn.execute(sql, [status, *kw.values()]).fetchone()[0]


@contextlib.contextmanager
def open_batch(
    conn: psycopg.Connection,
    *,
    source: str,
    entity: str,
    origin: str,
    run_date: dt.date,
    file_date: dt.date | None = None,
    sha256: str | None = None,
) -> Iterator[Batch]:
    meta = dict(source=source, entity=entity, origin=origin, run_date=run_date,
                file_date=file_date, sha256=sha256)
    started = dt.datetime.now(dt.timezone.utc)
    try:
        with conn.transaction():
            batch_id = _insert_batch(conn, "succeeded", **meta)
            batch = Batch(conn, batch_id)
            yield batch
            batch.flush_rejects()
            conn.execute(
                "update raw.load_batch set rows_in=%s, rows_loaded=%s, rows_rejected=%s, "
                "watermark=%s, message=%s, finished_at=now() where batch_id=%s",
                (batch.rows_in, batch.rows_loaded, batch.rows_rejected, batch.watermark,
                 batch.message, batch_id),
            )
    except Exception as exc:  # record the failure, then let the original error propagate
        record_failed_batch(conn, message=str(exc), started_at=started, **meta)
        raise


def record_failed_batch(conn, *, message: str, started_at: dt.datetime | None = None, **meta) -> None:
    """A 'failed' audit row in a transaction of its own. Never raises: when even that fails
    (the connection died), the caller's original error is the one that matters."""
    try:
        with conn.transaction():
            _insert_batch(conn, "failed", **meta, message=message[:2000],
                          started_at=started_at or dt.datetime.now(dt.timezone.utc),
                          finished_at=dt.datetime.now(dt.timezone.utc))
    except Exception:
        log.exception("无法记录失败批次 %s/%s", meta.get("source"), meta.get("origin"))


def record_duplicate(conn, *, source, entity, origin, run_date, file_date, sha256, message) -> int:
    """A redelivered identical file: audited, loads nothing."""
    with conn.transaction():
        return _insert_batch(conn, "duplicate", source=source, entity=entity, origin=origin,
                             run_date=run_date, file_date=file_date, sha256=sha256,
                             message=message, finished_at=dt.datetime.now(dt.timezone.utc))
