"""Load platform resources into raw.platform_<resource>, one batch (= one transaction) each.

Counting: rows_in is every item received, = rows_loaded + rows_rejected. Raw keeps what
arrived: an exact repeat (same key and updated_at, e.g. a page served twice) is landed too and
counted in the batch message ('duplicates'); staging keeps one latest version per key, so a
repeat never reaches a mart twice.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Any, Iterable, Iterator

import psycopg
from psycopg.copy import QueuedLibpqWriter
from psycopg.pq import TransactionStatus

from core import locks, schema
from ingest.batches import open_batch

from .client import PlatformClient, PlatformError, RawItems, parse_item, parse_time
from .fields import shown
from .resources import RESOURCES, MissingKey, Resource, get_resource

log = logging.getLogger(__name__)

SOURCE = "platform"
COLUMNS = ("record_id", "updated_at", "is_deleted", "payload")
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000 itself, not an escaped backslash + "u0000"

TABLE_DDL = schema.ddl("raw_platform_resource")

# The latest version of every record (the later updated_at, then the later batch), kept by the
# loader in the batch's own transaction, so staging reads one row per key instead of ranking the
# whole append-only history every day. It always equals ranking the history (CURRENT_FROM_HISTORY).
CURRENT_DDL = schema.ddl("raw_platform_current")

# the latest version in the history of each record named by `affected` (a query of record_id),
# leaving out the batch %(batch)s when `besides` is BESIDES_BATCH
CURRENT_FROM_HISTORY = """
insert into {current} (record_id, updated_at, is_deleted, payload, load_batch_id)
select distinct on (h.record_id) h.record_id, h.updated_at, h.is_deleted, h.payload, h.load_batch_id
from {table} as h
where h.record_id in ({affected}){besides}
order by h.record_id, h.updated_at desc, h.load_batch_id desc
on conflict (record_id) do update
set updated_at = excluded.updated_at, is_deleted = excluded.is_deleted,
    payload = excluded.payload, load_batch_id = excluded.load_batch_id
"""

BESIDES_BATCH = " and h.load_batch_id <> %(batch)s"

# A new batch's versions against the current ones: the current table already holds the best
# version of every earlier batch, so the batch's own rows are all there is to compare (read by
# the batch index; a look-up into the whole history went quadratic on a table without statistics).
# {select} is one of the two below, {conflict} ON_CONFLICT or nothing (see _update_current).
CURRENT_FROM_BATCH = """
insert into {current} as c (record_id, updated_at, is_deleted, payload, load_batch_id)
{select}
{conflict}
"""

# the batch's best version of each record: its rows themselves when no record_id repeats in
# it (the loader counted), which spares sorting every row, payload and all
BATCH_BEST = """select distinct on (b.record_id) b.record_id, b.updated_at, b.is_deleted, b.payload, b.load_batch_id
from {table} as b
where b.load_batch_id = %(batch)s
order by b.record_id, b.updated_at desc"""
BATCH_ROWS = """select b.record_id, b.updated_at, b.is_deleted, b.payload, b.load_batch_id
from {table} as b
where b.load_batch_id = %(batch)s"""

# left out when the current table is empty: nothing to conflict with
ON_CONFLICT = """on conflict (record_id) do update
set updated_at = excluded.updated_at, is_deleted = excluded.is_deleted,
    payload = excluded.payload, load_batch_id = excluded.load_batch_id
where (excluded.updated_at, excluded.load_batch_id) > (c.updated_at, c.load_batch_id)"""


class PlatformShortPull(PlatformError):
    """The platform kept sending fewer items than its own `total`: records are missing."""


class PlatformLoadError(Exception):
    """One or more resources failed; `summaries` holds the ones that loaded."""

    def __init__(self, message: str, summaries: list[dict], failures: dict[str, str]):
        super().__init__(message)
        self.summaries = summaries
        self.failures = failures


def ensure_platform_tables(conn: psycopg.Connection, resources: Iterable[str] | None = None) -> None:
    """Create raw.load_batch & co. and the raw table of each resource, if missing."""
    schema.ensure_schema(conn, "raw")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.SCHEMA,))
        tables = []
        for name in resources or RESOURCES:
            res = get_resource(name)
            conn.execute(TABLE_DDL.format(table=res.table, name=f"platform_{res.name}",
                                          resource=res.name))
            tables.append(res.table)
            current = current_table(res)
            if conn.execute("select to_regclass(%s) is null", (current,)).fetchone()[0]:
                # new, or a warehouse from before the current tables: fill it from the history
                conn.execute(CURRENT_DDL.format(current=current, resource=res.name))
                conn.execute(CURRENT_FROM_HISTORY.format(
                    current=current, table=res.table, affected=f"select record_id from {res.table}",
                    besides=""))
        # tables made before the foreign key was dropped (no DDL lock once migrated)
        for table, constraint in conn.execute(
                "select conrelid::regclass::text, conname from pg_constraint "
                "where contype = 'f' and conrelid = any(%s::regclass[]) "
                "and confrelid = 'raw.load_batch'::regclass", (tables,)).fetchall():
            conn.execute(f'alter table {table} drop constraint "{constraint}"')


def current_table(res: Resource) -> str:
    """raw.platform_<resource>_current: the latest version of each record."""
    return f"{res.table}_current"


# an empty current table about to take at least this many rows gets its primary key built
# after them (one sort) instead of one index insert per row: about half the cost
BULK_CURRENT_ROWS = 10_000


def _update_current(conn: psycopg.Connection, res: Resource, batch_id: int,
                    superseded: list[int], ids_repeat: bool = True, rows: int = 0) -> None:
    """Bring the current table up to date with batch `batch_id` (its rows already in the
    history) and with the rows of the `superseded` batches (already deleted from it): a record
    whose current version left is looked up again in the history (index on record_id,
    updated_at); then the batch's versions replace the current ones they are later than.
    `ids_repeat` False: the loader saw each record_id at most once in the batch (a repeat
    would still fail the insert, never pass unnoticed); `rows`: the batch's rows."""
    current = current_table(res)
    if superseded:
        # a version that left with its batch: the record falls back to its best remaining one
        # of the other batches (this batch's versions come next, as for every record), or
        # disappears if the superseded batch was all it had (so a rerun of a day-one pull
        # finds the table empty again)
        gone = [r[0] for r in conn.execute(
            f"delete from {current} where load_batch_id = any(%s) returning record_id", (superseded,))]
        if gone:
            conn.execute(CURRENT_FROM_HISTORY.format(current=current, table=res.table,
                                                     affected="select unnest(%(gone)s::text[])",
                                                     besides=BESIDES_BATCH),
                         {"gone": gone, "batch": batch_id})
    # empty (a first full pull, or a rerun of it): written only here, under the resource's lock
    empty = conn.execute(f"select not exists (select from {current})").fetchone()[0]
    insert = CURRENT_FROM_BATCH.format(
        current=current, select=(BATCH_BEST if ids_repeat else BATCH_ROWS).format(table=res.table),
        conflict="" if empty else ON_CONFLICT)
    if empty and rows >= BULK_CURRENT_ROWS and _insert_then_key(conn, current, insert, batch_id):
        return
    conn.execute(insert, {"batch": batch_id})


def _insert_then_key(conn: psycopg.Connection, current: str, insert: str, batch_id: int) -> bool:
    """`insert` into the empty table `current` with its primary key dropped, then the key
    added back as it was (same name, same definition). False, with nothing done, when a
    reader holds the table: the key cannot be dropped without waiting for it."""
    try:
        with conn.transaction():
            conn.execute(f"lock table {current} in access exclusive mode nowait")
    except psycopg.errors.LockNotAvailable:
        return False
    name, definition = conn.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint "
        "where conrelid = %s::regclass and contype = 'p'", (current,)).fetchone()
    conn.execute(f'alter table {current} drop constraint "{name}"')
    conn.execute(insert, {"batch": batch_id})
    conn.execute(f'alter table {current} add constraint "{name}" {definition}')
    return True


def previous_watermark(conn: psycopg.Connection, resource: str, run_date: dt.date) -> dt.datetime | None:
    """Watermark of the latest succeeded batch of an earlier run date (None: full pull)."""
    row = conn.execute(
        "select watermark from raw.load_batch where source = %s and entity = %s "
        "and status = 'succeeded' and run_date < %s and watermark is not null "
        "order by run_date desc, batch_id desc limit 1",
        (SOURCE, resource, run_date),
    ).fetchone()
    return row[0] if row else None


def _check_item(res: Resource, item: Any) -> tuple[str, dt.datetime, bool, str, list]:
    """(record_id, updated_at, is_deleted, payload JSON text, field warnings) or
    MissingKey/ValueError with a Chinese reason.

    Besides the key and updated_at, every contract field must have its type (resources.py /
    fields.py): a value the staging views cannot cast would otherwise fail the whole dbt
    build. A bad `required` field (one that places the record) rejects the item; any other
    bad field is left out of the payload (staging reads it as NULL) and reported as a field
    warning (field, original, reason), so the record itself is not lost. A tombstone needs
    only its key and updated_at: whatever else is wrong with it, the deletion still lands."""
    if not isinstance(item, dict):
        raise ValueError(f"条目不是 JSON 对象（收到 {type(item).__name__}）")
    record_id = _record_id(res, item)
    if item.get("updated_at") in (None, ""):
        raise ValueError("缺少 updated_at")
    updated_at = parse_time(item["updated_at"])
    if updated_at is None:
        raise ValueError(f"updated_at 不是合法的时间：{item['updated_at']!r}")
    deleted = item.get("is_deleted", False)  # contract: always present; absent = not deleted
    if not isinstance(deleted, bool):
        raise ValueError(f"is_deleted 不是布尔值：{deleted!r}")
    problems = res.field_problems(item)
    warnings = []
    if problems:
        fatal = [reason for name, required, reason in problems
                 if name in res.key or (required and not deleted)]
        if fatal:
            raise ValueError("；".join(fatal))
        item = dict(item)
        for name, _, reason in problems:
            warnings.append((name, None if item.get(name) is None else shown(item[name], 200),
                             f"{reason}，已置空"))
            item.pop(name, None)
    try:
        payload = _payload_json(item)
    except ValueError as exc:
        if not deleted:
            raise
        # the tombstone's other content cannot be stored: keep what the deletion needs
        payload = _payload_json({**{k: item[k] for k in res.key}, "updated_at": item["updated_at"],
                                 "is_deleted": True})
        warnings.append(("payload", None, f"{exc}；删除记录只保留了主键和 updated_at"))
    return record_id, updated_at, deleted, payload, warnings


def _record_id(res: Resource, item: dict) -> str:
    """Resource.record_id, without its loop for the common one-field text key."""
    if len(res.key) == 1:
        value = item.get(res.key[0])
        if type(value) is str:
            value = value.strip()
            if value:
                return value
    return res.record_id(item)


_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)   # made once, not per item


def _payload_json(item: dict) -> str:
    """The item as JSON text PostgreSQL's jsonb accepts (else ValueError with a reason).

    Python's json reads NaN/Infinity, "\\u0000" and lone surrogates ("\\ud800"), which
    jsonb or UTF-8 refuse: left in, one such item (even in an unknown field) would fail the
    COPY and with it the whole batch."""
    try:
        text = _PAYLOAD_ENCODER.encode(item)
    except ValueError:
        raise ValueError("条目含有 NaN 或 Infinity，不是合法的 JSON 数值") from None
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise ValueError("条目含有空字符 \\u0000，数据库无法保存：请平台去掉该字符")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("条目含有无法编码的字符（孤立的 UTF-16 代理项），数据库无法保存") from None
    return text


def _reject_text(item: Any) -> str:
    """The item as text for raw.rejected_row (which is text, so NaN is fine there)."""
    text = json.dumps(item, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(item)  # \\u escapes keep what arrived
    return text


@dataclass
class _Pulled:
    position: int = 0        # items received
    duplicates: int = 0      # exact repeats (same key and updated_at) among them
    pages: int = 0
    loaded: int = 0          # rows written
    total: int | None = None
    watermark: dt.datetime | None = None
    ids_repeat: bool = False  # some record_id arrived more than once (a repeat or two versions)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value as a field of COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_PREFETCH_PAGES = 2


def _prefetched(pages: Iterator[Any]) -> Iterator[Any]:
    """The pages of `pages`, fetched by a thread of their own up to _PREFETCH_PAGES ahead,
    so the next page is on its way while this one is checked. Errors arrive in order."""
    queue: Queue = Queue(_PREFETCH_PAGES)
    stop = threading.Event()
    done = object()

    def offer(entry) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def fetch():
        try:
            for page in pages:
                if not offer((page, None)):
                    return
            offer((done, None))
        except BaseException as exc:   # handed to the consumer, raised there
            offer((done, exc))

    thread = threading.Thread(target=fetch, name="platform-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            page, exc = queue.get()
            if page is done:
                if exc is not None:
                    raise exc
                return
            yield page
    finally:
        stop.set()
        # unblock a producer waiting on a full queue; one still inside an HTTP request (the
        # consumer stopped on an error) ends by itself after it, as a daemon
        deadline = time.monotonic() + 1.0
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                queue.get_nowait()
            except Empty:
                pass
            thread.join(timeout=0.05)
        if not thread.is_alive():
            close = getattr(pages, "close", None)
            if close is not None:
                close()


def _copy_special(data) -> bool:
    """Whether JSON bytes need escaping as a field of COPY's text format (a tab or newline can
    only be whitespace between tokens there, never inside a string)."""
    return b"\\" in data or b"\t" in data or b"\n" in data or b"\r" in data


def _copy_bytes(value: bytes) -> bytes:
    if not _copy_special(value):
        return value
    return (value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r"))


def _pull(client: PlatformClient, res: Resource, since: dt.datetime | None, write_rows,
          bad, prefix: str = "") -> _Pulled:
    """Page through a resource: each page's checked rows to write_rows(data), as COPY text
    (prefix, then record_id, updated_at, is_deleted, payload); rejects and field warnings to
    `bad` (JSON lines).

    An item that arrived as raw JSON and passes the resource's compiled validator (the
    common case) lands as the bytes it came in: parsed once, by the validator, never
    re-encoded. Any other item (a type problem, an unknown field, a \\u escape, which may
    hide \\u0000 or a lone surrogate) is read into Python and takes the full checks."""
    # the items seen: the first updated_at of each record_id, and the later (record_id,
    # updated_at) pairs of a record that came again (rare: far less memory than all pairs)
    pulled, first, more = _Pulled(), {}, set()
    write_bad = bad.write
    fast = res.fast_check
    for page in _prefetched(client.iter_pages(res.name, since)):
        pulled.pages += 1
        if page.number == 1:
            pulled.watermark, pulled.total = page.server_time, page.total
        raws = page.items.raw if isinstance(page.items, RawItems) else None
        # a page without a backslash, tab or newline (the common case) has no \\u escape
        # and nothing to escape for COPY: its items need no look of their own
        plain = raws is not None and not _copy_special(page.items.body)
        rows, landed = [], 0
        for item in (raws if raws is not None else page.items):
            pulled.position += 1
            checked = None
            if raws is not None:
                if not plain:   # bytes: fast() looks for \\u escapes
                    item = bytes(item)
                checked = fast(item)
                if checked is None:
                    item = parse_item(item)
            if checked is not None:
                record_id, updated_at, stamp, deleted = checked
                key = (record_id, updated_at)
                if not plain:
                    record_id, item = _copy_text(record_id), _copy_bytes(item)
                rows += (f"{prefix}{record_id}\t{stamp}\t{'t' if deleted else 'f'}\t".encode(),
                         item, b"\n")
            else:
                try:
                    record_id, updated_at, deleted, payload, warnings = _check_item(res, item)
                except (MissingKey, ValueError) as exc:
                    write_bad(json.dumps(["r", pulled.position, _reject_text(item), str(exc)],
                                         ensure_ascii=False) + "\n")
                    continue
                for name, original, reason in warnings:
                    write_bad(json.dumps(["w", pulled.position, name, original, reason],
                                         ensure_ascii=False) + "\n")
                key = (record_id, updated_at)
                rows.append(f"{prefix}{_copy_text(record_id)}\t{updated_at.isoformat()}\t"
                            f"{'t' if deleted else 'f'}\t{_copy_text(payload)}\n".encode())
            landed += 1
            record_id, updated_at = key
            if record_id not in first:
                first[record_id] = updated_at
            else:
                pulled.ids_repeat = True
                if first[record_id] == updated_at or key in more:
                    pulled.duplicates += 1
                else:
                    more.add(key)
        if rows:
            write_rows(b"".join(rows))
            pulled.loaded += landed
    return pulled


class _CopyWriter(QueuedLibpqWriter):
    """COPY data sent by a thread of its own, so the next page is checked while the database
    takes this one; at most _COPY_QUEUE blocks (128 KiB each) wait, which bounds memory."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._queue = Queue(_COPY_QUEUE)


_COPY_QUEUE = 16


SHORT_PULL_RETRIES = 2   # pulls repeated when fewer items than `total` arrived


def _short(pull: _Pulled) -> bool:
    return pull.total is not None and pull.position - pull.duplicates < pull.total


class _ShortAttempt(Exception):
    pass


def _pull_complete(conn, batch, client: PlatformClient, res: Resource, since: dt.datetime | None,
                   bad, retries: int) -> _Pulled:
    """_pull straight into COPY (the database stores one page while the next is fetched and
    checked), repeated while the platform sends fewer distinct items than its `total`
    (CONTRACT §1: total counts every matching item); each attempt in a savepoint, so a short
    one leaves no rows. Still short after `retries` repeats: PlatformShortPull, so no batch
    succeeds and the watermark stays where it was."""
    prefix = f"{batch.batch_id}\t"
    statement = f"copy {res.table} (load_batch_id, {', '.join(COLUMNS)}) from stdin"
    for attempt in range(retries + 1):
        bad.seek(0)
        bad.truncate()
        try:
            with conn.transaction():
                cur = conn.cursor()
                with cur.copy(statement, writer=_CopyWriter(cur)) as cp:
                    pull = _pull(client, res, since, cp.write, bad, prefix)
                if _short(pull):
                    raise _ShortAttempt
        except _ShortAttempt:
            pass
        else:
            batch.rows_loaded += pull.loaded
            return pull
        got = pull.position - pull.duplicates
        log.warning("平台 %s：收到 %d 条，少于 total=%d（第 %d 次拉取）", res.name, got, pull.total,
                    attempt + 1)
        if attempt < retries:
            client._sleep(min(client.backoff_max, client.backoff_base * 2 ** attempt))
    raise PlatformShortPull(
        f"平台 {res.name} 声明共 {pull.total} 条，但连续 {retries + 1} 次拉取只收到 {got} 条，"
        f"有记录缺失：本次未装载，增量水位不前移，下次运行将从上次成功的位置重新拉取；"
        f"如持续出现请联系平台核查")


def load_resource(conn: psycopg.Connection, client: PlatformClient, resource: str,
                  run_date: dt.date, *, ensure_tables: bool = True,
                  short_pull_retries: int = SHORT_PULL_RETRIES) -> dict:
    """Pull one resource (incrementally from the last run's watermark) into its raw table.

    A rerun for the same run_date replaces the earlier batch (its rows deleted, its status
    'superseded') in the same transaction. Any failure rolls everything back and leaves a
    'failed' batch (see ingest.batches.open_batch).
    """
    res = get_resource(resource)
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("数据库连接处于未结束的事务中，无法保证批次原子性：请先提交或回滚")
    if ensure_tables:
        ensure_platform_tables(conn, [resource])
    summary: dict[str, Any] = {"resource": resource, "run_date": run_date}
    meta = dict(source=SOURCE, entity=resource, origin=client.endpoint_url(resource),
                run_date=run_date)
    with conn.transaction():
        since = previous_watermark(conn, resource, run_date)
    # Rows stream into COPY as pages arrive (the database works while the next page is
    # fetched); rejects and warnings wait in a spool (bounded memory) until the COPY is done.
    # Any failure, a short pull included, rolls the batch back and records it as failed.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as bad:
        with open_batch(conn, **meta) as batch:
            # one loader per resource at a time; reruns queue up instead of interleaving
            conn.execute("select pg_advisory_xact_lock(%s)", (locks.platform_resource(SOURCE, resource),))
            pull = _pull_complete(conn, batch, client, res, since, bad, short_pull_retries)
            batch.watermark = pull.watermark
            bad.seek(0)
            for line in bad:
                kind, *entry = json.loads(line)
                (batch.reject if kind == "r" else batch.warn)(*entry)
            position, duplicates, pages, total = pull.position, pull.duplicates, pull.pages, pull.total
            batch.rows_in = position
            superseded = [r[0] for r in conn.execute(
                "update raw.load_batch set status = 'superseded', "
                "message = concat_ws('; ', message, %s::text) "
                "where source = %s and entity = %s and run_date = %s and status = 'succeeded' "
                "and batch_id <> %s returning batch_id",
                (f"已被批次 {batch.batch_id} 取代", SOURCE, resource, run_date, batch.batch_id),
            )]
            if superseded:
                conn.execute(f"delete from {res.table} where load_batch_id = any(%s)", (superseded,))
            _update_current(conn, res, batch.batch_id, superseded, pull.ids_repeat, pull.loaded)
            notes = [f"updated_since={since.isoformat() if since else '全量'}", f"页数 {pages}"]
            if duplicates:
                notes.append(f"重复条目 {duplicates} 条（同一主键与 updated_at），原样落地，staging 只取一条")
            batch.message = "；".join(notes)
            summary.update(batch_id=batch.batch_id, rows_in=batch.rows_in,
                           rows_loaded=batch.rows_loaded, rows_rejected=batch.rows_rejected,
                           fields_warned=batch.fields_warned,
                           duplicates=duplicates, pages=pages, total=total, updated_since=since,
                           watermark=batch.watermark, superseded=superseded)
    log.info("平台 %s 装载完成：读入 %d，装载 %d，拒收 %d，重复 %d，取代批次 %s", resource,
             summary["rows_in"], summary["rows_loaded"], summary["rows_rejected"], duplicates,
             superseded or "无")
    return summary


def load_all(conn: psycopg.Connection, client: PlatformClient, run_date: dt.date,
             resources: Iterable[str] | None = None) -> list[dict]:
    """Load every resource (each its own batch); raise PlatformLoadError at the end if any failed."""
    names = list(resources or RESOURCES)
    ensure_platform_tables(conn, names)
    summaries, failures = [], {}
    for name in names:
        try:
            summaries.append(load_resource(conn, client, name, run_date, ensure_tables=False))
        except Exception as exc:  # keep going: one resource's failure must not block the others
            log.error("平台 %s 装载失败：%s", name, exc)
            failures[name] = str(exc)
    if failures:
        raise PlatformLoadError(
            "平台资源装载失败：" + "；".join(f"{k}：{v}" for k, v in failures.items()),
            summaries, failures)
    return summaries
