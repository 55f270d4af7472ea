"""Load landing-folder files into raw.feed_<folder>, one batch (one transaction) per file.

Which files a run for date D loads (CONTRACT §2):
- `<folder>_<YYYYMMDD>.<csv|xlsx>` dated D or earlier, in date order (missed days caught up);
  files dated after D wait for their run; other names are reported as 'ignored'.
- 'Loaded' means: a succeeded batch with the same sha256 exists.
  * same sha256 already the latest batch for that file date, under the same file name
    -> 'unchanged': nothing loaded, nothing recorded (no duplicate row every daily run);
  * same sha256 succeeded otherwise (bytes redelivered under another name/date, or the
    original coming back after a failed correction) -> one 'duplicate' batch is recorded;
    from then on it is the latest batch for that date, so it is not recorded again.
    Header-only files are identical from day to day, so a header-only file matches only
    batches of its own date (else every quiet day would be a 'duplicate' of the first).
- A different sha256 for a date that has a succeeded batch (corrected redelivery) is loaded
  and, in the same transaction, the old batch's rows are deleted and it is marked
  'superseded' (its rejected rows stay, for the audit trail).
- A file that cannot be read gets a 'failed' batch with the reason and is retried at the
  next run (unless replaced); the other files and folders still load.

The connection should be in autocommit mode: every step runs in its own transaction block.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from core import locks
from ingest.batches import BatchRefused, open_batch, record_duplicate, record_failed_batch
from ingest.feeds.columnar import copy_chunks
from ingest.feeds.mapping import FOLDERS, Mapping, load_mapping
from ingest.feeds.reader import XLSX_MAX_UNPACKED_MB, read_feed
from ingest.feeds.tables import ensure_feed_table, table_name

log = logging.getLogger(__name__)

# An extra check per well-typed row (column name -> value, and the file's date): a reason to
# reject it (Chinese), or None. Used by feeds whose rows are checked against the warehouse.
RowCheck = Callable[[dt.date, dict], "str | None"]

FILE_NAME = re.compile(r"^(?P<folder>.+)_(?P<date>\d{8})\.(?P<ext>csv|xlsx)$", re.IGNORECASE)


@dataclass
class FileSummary:
    folder: str
    file: str | None
    file_date: dt.date | None
    # succeeded / failed / duplicate (recorded) / unchanged / waiting / ignored (not recorded)
    status: str
    batch_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    fields_warned: int = 0       # values stored as NULL because unreadable (raw.field_warning)
    message: str | None = None
    superseded: list[int] = field(default_factory=list)


@dataclass
class _Candidate:
    path: Path
    file_date: dt.date
    refused: str | None = None   # found but never to be read (a symbolic link): why


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(folder_dir: Path, folder: str) -> tuple[list[_Candidate], list[FileSummary]]:
    """Well-named files sorted by date (one per date); the others as 'ignored' summaries."""
    found, ignored = [], []
    if not folder_dir.is_dir():
        return found, ignored
    for path in sorted(folder_dir.iterdir()):
        if path.name.startswith("."):
            continue   # hidden files: partial uploads (.part, .~lock) are not ours yet
        link = path.is_symlink()
        if not link and not path.is_file():
            continue
        m = FILE_NAME.match(path.name)
        file_date = None
        if m and m.group("folder") == folder:
            try:
                file_date = dt.datetime.strptime(m.group("date"), "%Y%m%d").date()
            except ValueError:
                pass
        if file_date is None:
            ignored.append(FileSummary(folder, path.name, None, "ignored", message=(
                f"文件名不符合约定 {folder}_YYYYMMDD.csv 或 .xlsx，未装载")))
            continue
        # A link could point anywhere on the server (another folder, /etc): never followed.
        found.append(_Candidate(path, file_date, refused=(
            "该文件是符号链接（快捷方式），为安全起见不读取其指向的文件；"
            "请把真实文件本身放入落地目录后重新报送") if link else None))
    # Two files for one day (.csv and .xlsx): the newest delivery wins; loading both would
    # make them supersede each other on every run.
    newest: dict[dt.date, _Candidate] = {}
    for cand in sorted(found, key=lambda c: (_mtime(c.path), c.path.name)):
        newest[cand.file_date] = cand
    for cand in found:
        if newest[cand.file_date] is not cand:
            ignored.append(FileSummary(folder, cand.path.name, cand.file_date, "ignored", message=(
                f"同一天还有更新的文件 {newest[cand.file_date].path.name}，以它为准，本文件未装载")))
    return sorted(newest.values(), key=lambda c: c.file_date), ignored


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime   # lstat: a link's own time, its target is not looked at
    except OSError:
        return 0.0


def _decide(conn, folder: str, cand: _Candidate, sha: str) -> str:
    """'load', 'unchanged' or 'duplicate' for a file (see module doc)."""
    query = (
        "select l.origin, l.sha256, l.status, s.same_date, s.other_date from ("
        "  select count(*) filter (where file_date = %(d)s) as same_date,"
        "         count(*) filter (where file_date is distinct from %(d)s and rows_in > 0) as other_date"
        "  from raw.load_batch where source = %(f)s and entity = %(f)s"
        "  and status = 'succeeded' and sha256 = %(sha)s) s "
        "left join (select origin, sha256, status from raw.load_batch "
        "  where source = %(f)s and entity = %(f)s and file_date = %(d)s "
        "  order by batch_id desc limit 1) l on true")
    params = {"d": cand.file_date, "f": folder, "sha": sha}
    if conn.autocommit:   # one statement, one round trip
        origin, latest_sha, status, same_date, other_date = conn.execute(query, params).fetchone()
    else:
        with conn.transaction():
            origin, latest_sha, status, same_date, other_date = conn.execute(query, params).fetchone()
    if not (same_date or other_date):
        return "load"
    if origin == cand.path.name and latest_sha == sha and status in ("succeeded", "duplicate"):
        return "unchanged"
    return "duplicate"


def _supersede(conn, mapping: Mapping, file_date: dt.date, new_batch_id: int) -> list[int]:
    old = [r[0] for r in conn.execute(
        "select batch_id from raw.load_batch where source = %s and entity = %s "
        "and file_date = %s and status = 'succeeded' and batch_id <> %s for update",
        (mapping.folder, mapping.folder, file_date, new_batch_id))]
    if old:
        conn.execute(sql.SQL("delete from {} where load_batch_id = any(%s)").format(
            sql.Identifier("raw", table_name(mapping.folder))), (old,))
        conn.execute(
            "update raw.load_batch set status = 'superseded', "
            "message = concat_ws('；', message, %s::text) where batch_id = any(%s)",
            (f"已被更正文件的批次 {new_batch_id} 取代", old))
    return old


def _load_file(conn, mapping: Mapping, cand: _Candidate, sha: str, run_date: dt.date,
               row_check: RowCheck | None = None, xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> FileSummary:
    names = [n for n, _, _ in mapping.table_columns()]
    columns = ["file_date", "line_no", *names, "extra"]
    table = f"raw.{table_name(mapping.folder)}"
    summary = FileSummary(mapping.folder, cand.path.name, cand.file_date, "succeeded")
    # Rejects are spooled (in memory up to 1 MB) while the COPY runs: Batch.reject may flush
    # with a COPY of its own, which cannot start while ours is open.
    with tempfile.SpooledTemporaryFile(1 << 20, "w+", encoding="utf-8") as spool, open_batch(
            conn, source=mapping.folder, entity=mapping.folder, origin=cand.path.name,
            run_date=run_date, file_date=cand.file_date, sha256=sha) as batch:
        summary.batch_id = batch.batch_id
        counts = {"in": 0}

        if row_check is None:
            def chunks():
                for chunk in copy_chunks(cand.path, mapping, f"{batch.batch_id}\t{cand.file_date.isoformat()}\t",
                                         xlsx_max_mb):
                    counts["in"] += chunk.rows_in
                    for line_no, payload, reason in chunk.rejects:
                        spool.write(json.dumps(["r", line_no, payload, reason], ensure_ascii=False) + "\n")
                    for entry in chunk.warnings:
                        spool.write(json.dumps(["w", *entry], ensure_ascii=False) + "\n")
                    yield chunk.text, chunk.loaded

            batch.copy_text(table, columns, chunks())

        def good_rows():
            for row in read_feed(cand.path, mapping, xlsx_max_mb):
                counts["in"] += 1
                reason = row.reason
                if reason is None and row_check is not None:
                    reason = row_check(cand.file_date, dict(zip(names, row.values)))
                if reason is None:
                    for label, original, why in row.warnings:
                        spool.write(json.dumps(["w", row.line_no, label, original, why],
                                               ensure_ascii=False) + "\n")
                    yield [cand.file_date, row.line_no, *row.values]
                else:
                    spool.write(json.dumps(["r", row.line_no, row.payload, reason],
                                           ensure_ascii=False) + "\n")

        if row_check is not None:
            batch.copy_rows(table, columns, good_rows())
        spool.seek(0)
        for line in spool:
            kind, *entry = json.loads(line)
            (batch.reject if kind == "r" else batch.warn)(*entry)
        batch.rows_in = counts["in"]
        summary.superseded = _supersede(conn, mapping, cand.file_date, batch.batch_id)
        if summary.superseded:
            batch.message = f"更正文件，取代了批次 {', '.join(map(str, summary.superseded))}"
        summary.message = batch.message
    summary.rows_in, summary.rows_loaded, summary.rows_rejected = (
        batch.rows_in, batch.rows_loaded, batch.rows_rejected)
    summary.fields_warned = batch.fields_warned
    return summary


def _failed_batch_id(conn, folder: str, name: str) -> int | None:
    with conn.transaction():
        row = conn.execute(
            "select max(batch_id) from raw.load_batch where source = %s and origin = %s "
            "and status = 'failed'", (folder, name)).fetchone()
    return row[0] if row else None


def load_folder(conn: psycopg.Connection, landing_dir: Path, folder: str,
                run_date: dt.date, row_check: RowCheck | None = None,
                xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> list[FileSummary]:
    """Load every not-yet-loaded file of one folder dated run_date or earlier, in date order;
    `xlsx_max_mb`: Settings.feed_xlsx_max_unpacked_mb."""
    mapping = load_mapping(folder)
    ensure_feed_table(conn, mapping)
    candidates, summaries = list_files(Path(landing_dir) / folder, folder)
    lock_key = locks.feed_folder(folder)
    _session_statement(conn, "select pg_advisory_lock(%s)", (lock_key,))   # one loader per folder
    try:
        for cand in candidates:
            if cand.file_date > run_date:
                summaries.append(FileSummary(folder, cand.path.name, cand.file_date, "waiting",
                                             message=f"文件日期晚于运行日期 {run_date}，等到当天再装载"))
                continue
            summaries.append(_load_one(conn, mapping, cand, run_date, row_check, xlsx_max_mb))
    finally:
        _session_statement(conn, "select pg_advisory_unlock(%s)", (lock_key,))
    return summaries


def _session_statement(conn, query: str, params: tuple) -> None:
    """One statement outside any batch: a single round trip in autocommit mode."""
    if conn.autocommit:
        conn.execute(query, params)
    else:
        with conn.transaction():
            conn.execute(query, params)


def _refuse(conn, folder: str, cand: _Candidate, run_date: dt.date, message: str,
            sha: str | None = None) -> FileSummary:
    """A file that was found but cannot be loaded at all still gets its 'failed' batch."""
    record_failed_batch(conn, message=message, source=folder, entity=folder,
                        origin=cand.path.name, run_date=run_date, file_date=cand.file_date,
                        sha256=sha)
    return FileSummary(folder, cand.path.name, cand.file_date, "failed",
                       batch_id=_failed_batch_id(conn, folder, cand.path.name), message=message)


def _load_one(conn, mapping: Mapping, cand: _Candidate, run_date: dt.date,
              row_check: RowCheck | None = None, xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> FileSummary:
    folder = mapping.folder
    if cand.refused or cand.path.is_symlink():
        return _refuse(conn, folder, cand, run_date, cand.refused or "该文件是符号链接，不读取")
    try:
        sha = sha256_of(cand.path)
    except OSError as exc:   # vanished or unreadable share: try again next run
        return _refuse(conn, folder, cand, run_date,
                       f"无法读取文件（{_os_reason(exc)}），下次运行时重试")
    decision = _decide(conn, folder, cand, sha)
    if decision == "unchanged":
        return FileSummary(folder, cand.path.name, cand.file_date, "unchanged")
    if decision == "duplicate":
        message = "与已装载的文件内容完全相同（sha256 一致），未重复装载"
        batch_id = record_duplicate(conn, source=folder, entity=folder, origin=cand.path.name,
                                    run_date=run_date, file_date=cand.file_date, sha256=sha,
                                    message=message)
        return FileSummary(folder, cand.path.name, cand.file_date, "duplicate",
                           batch_id=batch_id, message=message)
    try:
        summary = _load_file(conn, mapping, cand, sha, run_date, row_check, xlsx_max_mb)
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise   # the warehouse itself is gone: nothing else can load either
    except BatchRefused as exc:   # open_batch has already recorded the 'failed' batch
        return FileSummary(folder, cand.path.name, cand.file_date, "failed",
                           batch_id=_failed_batch_id(conn, folder, cand.path.name),
                           message=str(exc))
    except Exception as exc:   # a reader bug or an OS error: still one failed batch, in Chinese
        log.exception("feed %s: %s failed", folder, cand.path.name)
        message = _unexpected(exc)
        batch_id = _failed_batch_id(conn, folder, cand.path.name)
        if batch_id is not None:
            with conn.transaction():
                conn.execute("update raw.load_batch set message = %s where batch_id = %s",
                             (message, batch_id))
        return FileSummary(folder, cand.path.name, cand.file_date, "failed",
                           batch_id=batch_id, message=message)
    log.info("feed %s: %s -> batch %s, %s in, %s loaded, %s rejected", folder, cand.path.name,
             summary.batch_id, summary.rows_in, summary.rows_loaded, summary.rows_rejected)
    return summary


def _os_reason(exc: OSError) -> str:
    import errno

    known = {errno.ENOENT: "文件在读取前消失了", errno.EACCES: "没有读取权限",
             errno.EPERM: "没有读取权限", errno.EIO: "磁盘或网络共享读写错误",
             errno.ELOOP: "符号链接层数过多"}
    return known.get(exc.errno, f"操作系统错误 {exc.errno}")


def _unexpected(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"读取文件时出错（{_os_reason(exc)}），文件未装载，下次运行时重试"
    if isinstance(exc, MemoryError):
        return "文件过大，读取时内存不足，文件未装载；请拆分后重新报送"
    return (f"读取文件时发生程序错误（{type(exc).__name__}），文件未装载；"
            f"请工程师查看日志，文件保留在落地目录中")


def load_all(conn: psycopg.Connection, landing_dir: Path, run_date: dt.date,
             folders: Iterable[str] | None = None,
             xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> list[FileSummary]:
    """load_folder for every landing folder (default: all 15); never raises for a bad file."""
    summaries: list[FileSummary] = []
    for folder in folders or FOLDERS:
        try:
            summaries.extend(load_folder(conn, landing_dir, folder, run_date, xlsx_max_mb=xlsx_max_mb))
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception as exc:   # a broken mapping file stops its own folder only
            log.exception("feed %s: cannot load the folder", folder)
            message = f"无法装载该目录（映射文件或建表出错，{type(exc).__name__}）：{exc}"
            record_failed_batch(conn, message=message, source=folder, entity=folder,
                                origin=f"{folder}/", run_date=run_date)
            summaries.append(FileSummary(folder, None, None, "failed", message=message))
    return summaries
