"""Load batches: one transaction per batch, so a batch is visible only once committed.

Every loader follows the same shape:

    with open_batch(conn, source=..., entity=..., origin=..., run_date=...) as batch:
        batch.copy_rows("raw.feed_yibao", columns, rows)   # COPY
        batch.reject(line_no, payload, reason)             # raw.rejected_row
        batch.warn(line_no, column, original, reason)      # raw.field_warning (row kept)
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
    fields_warned: int = 0
    _rejects: list[tuple[int | None, str, str]] = field(default_factory=list)
    _warnings: list[tuple[int | None, str, str | None, str]] = field(default_factory=list)

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

    def copy_text(self, table: str, columns: Sequence[str], chunks: Iterable[tuple[str, int]]) -> int:
        """COPY ready-made text-format lines (each starting with this batch's id) into table;
        chunks are (text, rows in it). Returns the count copied."""
        cols = ", ".join(["load_batch_id", *columns])
        n = 0
        with self.conn.cursor().copy(f"copy {table} ({cols}) from stdin") as cp:
            for text, rows in chunks:
                if rows:
                    cp.write(text)
                    n += rows
        self.rows_loaded += n
        return n

    def reject(self, line_no: int | None, payload: str, reason: str) -> None:
        self._rejects.append((line_no, payload, reason))
        self.rows_rejected += 1
        if len(self._rejects) >= 5000:
            self.flush_rejects()

    def warn(self, line_no: int | None, column: str, original: str | None, reason: str) -> None:
        """A field that could not be read and was stored as NULL; the row itself loaded."""
        self._warnings.append((line_no, column, original, reason))
        self.fields_warned += 1
        if len(self._warnings) >= 5000:
            self.flush_rejects()

    def flush_rejects(self) -> None:
        """Write the pending rejected rows and field warnings (no COPY may be open)."""
        if self._rejects:
            with self.conn.cursor().copy(
                "copy raw.rejected_row (batch_id, line_no, payload, reason) from stdin"
            ) as cp:
                for line_no, payload, reason in self._rejects:
                    cp.write_row((self.batch_id, line_no, payload, reason))
            self._rejects.clear()
        if self._warnings:
            with self.conn.cursor().copy(
                "copy raw.field_warning (batch_id, line_no, column_name, original, reason) from stdin"
            ) as cp:
                for line_no, column, original, reason in self._warnings:
                    cp.write_row((self.batch_id, line_no, column, original, reason))
            self._warnings.clear()


def _insert_batch(conn, status: str, finished: bool = False, **kw) -> int:
    """One load_batch row; started_at defaults to clock_timestamp() (the real time, not the
    transaction's start), and finished=True stamps finished_at the same way."""
    cols = ["status", *kw]
    values = ["%s"] * len(cols)
    if finished:
        cols.append("finished_at")
        values.append("clock_timestamp()")
    sql = (
        f"insert into raw.load_batch ({', '.join(cols)}) "
        f"values ({', '.join(values)}) returning batch_id"
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
                "fields_warned=%s, watermark=%s, message=%s, finished_at=clock_timestamp() "
                "where batch_id=%s",
                (batch.rows_in, batch.rows_loaded, batch.rows_rejected, batch.fields_warned,
                 batch.watermark, batch.message, batch_id),
            )
    except Exception as exc:  # record the failure, then let the original error propagate
        record_failed_batch(conn, message=str(exc), started_at=started, **meta)
        raise


def record_failed_batch(conn, *, message: str, started_at: dt.datetime | None = None, **meta) -> None:
    """A 'failed' audit row in a transaction of its own. Never raises: when even that fails
    (the connection died), the caller's original error is the one that matters."""
    try:
        with conn.transaction():
            extra = {"started_at": started_at} if started_at else {}
            _insert_batch(conn, "failed", finished=True, **meta, **extra, message=message[:2000])
    except Exception:
        log.exception("无法记录失败批次 %s/%s", meta.get("source"), meta.get("origin"))


def record_duplicate(conn, *, source, entity, origin, run_date, file_date, sha256, message) -> int:
    """A redelivered identical file: audited, loads nothing."""
    with conn.transaction():
        return _insert_batch(conn, "duplicate", source=source, entity=entity, origin=origin,
                             run_date=run_date, file_date=file_date, sha256=sha256,
                             message=message, finished=True)


def field_warning_counts(conn, batch_ids: Iterable[int]) -> dict[int, int]:
    """How many fields were nulled (raw.field_warning rows) per batch; 0 for none."""
    ids = list(batch_ids)
    counts = dict.fromkeys(ids, 0)
    with conn.transaction():
        for batch_id, n in conn.execute(
                "select batch_id, count(*) from raw.field_warning where batch_id = any(%s) "
                "group by batch_id", (ids,)):
            counts[batch_id] = n
    return counts


def unresolved_failures(conn, run_date: dt.date) -> list[tuple[str, str, str]]:
    """(source, origin, message) of every failed batch not yet made good.

    Platform resources: a failed pull of a run date up to run_date, with no succeeded pull
    of that resource after it. Files: a failed file of any file date up to run_date (a late
    file for an earlier day counts too), with no succeeded or duplicate delivery of the same
    folder and file date after it. A failure without a file date (a file whose name gave
    none, a folder that could not be read) is resolved by any later good batch of its source.
    """
    with conn.transaction():
        return [tuple(r) for r in conn.execute(
            """select f.source, f.origin, coalesce(f.message, '') from raw.load_batch f
               where f.status = 'failed'
                 and (case when f.source = 'platform' then f.run_date
                           else coalesce(f.file_date, f.run_date) end) <= %(d)s
                 and not exists (
                     select 1 from raw.load_batch ok
                     where ok.source = f.source and ok.entity = f.entity
                       and ok.batch_id > f.batch_id
                       and ok.status in ('succeeded', 'duplicate')
                       and (f.source = 'platform' or f.file_date is null
                            or ok.file_date = f.file_date))
               order by f.batch_id""", {"d": run_date})]

