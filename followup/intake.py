"""Verification results coming back: `verification/verification_<YYYYMMDD>.xlsx|csv` (columns:
ingest/feeds/mappings/verification.yml; the cadres' guide: docs/checklist_guide.md).

Files are read by the feed loader (same batches, rejects and duplicate handling as every
feed) with one more check per row against the warehouse: the rule must be in the catalog,
the finding must exist in dq.issue, the verification date must not be after the file's date.
A row whose 核实结果 is empty is a finding not yet verified: loaded, not applied.

Each loaded batch is then applied to dq.issue once (dq.verification_applied), in file-date
and line order; the latest verification of a finding (by 核实日期) wins:
- 不属实: dismissed, with a fingerprint of the detail as it was (stops alerting until the
  record changes; dq_store.sync_issues raises it again then);
- 属实: confirmed, the deadline clock runs on;
- 已整改: claimed fixed; a later run that still finds it flags 整改不实.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import psycopg

from alerts.masking import mask_text
from core import locks
from core.schema import ensure_schema
from core.warehouse import has_table
from expectations import catalog, dq_store
from ingest.feeds.load import load_folder

log = logging.getLogger(__name__)
FOLDER = "verification"


class FindingIndex:
    """Which (rule, entity) pairs have a finding: entity ids as stored, or as a checklist
    showed them (masked), so a returned checklist matches whatever it printed."""

    def __init__(self, conn: psycopg.Connection):
        self.rules = {r.rule_id for r in catalog.load_rules()}
        self.exact: set[tuple[str, str]] = set()
        self.masked: dict[tuple[str, str], set[str]] = {}
        for rule_id, entity_id in conn.execute("select rule_id, entity_id from dq.issue"):
            self.exact.add((rule_id, entity_id))
            self.masked.setdefault((rule_id, mask_text(entity_id)), set()).add(entity_id)

    def resolve(self, rule_id: str, shown: str) -> tuple[str | None, str | None]:
        """(entity_id, None) or (None, reason to reject)."""
        if rule_id not in self.rules:
            return None, f"规则编号“{rule_id}”不在规则目录中，请按核查清单原样填写规则编号"
        if (rule_id, shown) in self.exact:
            return shown, None
        ids = self.masked.get((rule_id, shown), set())
        if len(ids) == 1:
            return next(iter(ids)), None
        if len(ids) > 1:
            return None, f"规则 {rule_id} 下对象编号“{mask_text(shown)}”对应多条问题，无法确定是哪一条，请填写完整对象编号"
        return None, f"规则 {rule_id} 下没有对象编号为“{mask_text(shown)}”的问题，请按核查清单原样填写对象编号"


def row_checker(index: FindingIndex):
    def check(file_date: dt.date, row: dict) -> str | None:
        if row["result"] is None:
            if row["verified_by"] or row["verified_on"]:
                return "已填写核实人或核实日期，但未选择核实结果（属实/不属实/已整改）"
            return None        # not verified yet: kept, not applied
        _, reason = index.resolve(row["rule_id"], row["entity_id"])
        if reason:
            return reason
        if not row["verified_by"]:
            return "未填写核实人"
        if row["verified_on"] is None:
            return "未填写核实日期"
        if row["verified_on"] > file_date:
            return (f"核实日期 {row['verified_on']} 晚于本文件日期 {file_date}，"
                    f"不能填写将来的日期，请核对后重新交回")
        return None
    return check


def intake_verifications(conn: psycopg.Connection, landing_dir: Path, run_date: dt.date) -> dict:
    """Load the verification folder and apply every batch not applied yet. The connection
    should be in autocommit mode (each batch and each application is its own transaction)."""
    ensure_schema(conn, "dq")
    index = FindingIndex(conn)
    files = load_folder(conn, Path(landing_dir), FOLDER, run_date, row_check=row_checker(index))
    for f in files:
        if f.status == "failed":
            log.warning("核查结果文件 %s 装载失败：%s", f.file, f.message)
    applied = _apply_pending(conn, index, run_date)
    return {"files": [{"file": f.file, "status": f.status, "rows_loaded": f.rows_loaded,
                       "rows_rejected": f.rows_rejected, "message": f.message} for f in files],
            **applied}


def _apply_pending(conn: psycopg.Connection, index: FindingIndex, run_date: dt.date) -> dict:
    totals = {"applied": 0, "ignored": 0, "events": 0}
    if not has_table(conn, "raw.feed_verification"):
        return totals
    pending = conn.execute(
        """select b.batch_id, b.origin, b.file_date from raw.load_batch b
           where b.source = %s and b.status = 'succeeded'
             and not exists (select 1 from dq.verification_applied a where a.batch_id = b.batch_id)
           order by b.file_date, b.batch_id""", (FOLDER,)).fetchall()
    for batch_id, origin, file_date in pending:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (locks.ISSUE_MERGE,))
            n = _apply_batch(conn, index, batch_id, origin, file_date, run_date)
            conn.execute("insert into dq.verification_applied (batch_id, applied, ignored) "
                         "values (%s, %s, %s)", (batch_id, n["applied"], n["ignored"]))
        for k in totals:
            totals[k] += n[k]
    return totals


def _apply_batch(conn, index: FindingIndex, batch_id: int, origin: str, file_date: dt.date,
                 run_date: dt.date) -> dict:
    rows = conn.execute(
        "select rule_id, entity_id, result, verified_by, verified_on, note from raw.feed_verification "
        "where load_batch_id = %s and result is not null order by line_no", (batch_id,)).fetchall()
    keys = {}
    for rule_id, shown, *_ in rows:
        entity_id, _ = index.resolve(rule_id, shown)
        keys[(rule_id, shown)] = entity_id
    wanted = sorted({(r, e) for (r, _), e in keys.items() if e})
    issues = dq_store.fetch_issues(
        conn, "(i.rule_id, i.entity_id) in (select * from unnest(%s::text[], %s::text[]))",
        ([r for r, _ in wanted], [e for _, e in wanted]))
    source = f"verification:{origin}"
    changed: dict[tuple[str, str], dict] = {}
    events: list[tuple] = []
    applied = ignored = 0
    for rule_id, shown, result, by, on, note in rows:
        entity_id = keys[(rule_id, shown)]
        key = (rule_id, entity_id)
        issue = changed.get(key) or issues.get(key)
        if entity_id is None or issue is None:   # checked at load; the finding is gone since
            ignored += 1
            continue
        if issue["verified_on"] and on < issue["verified_on"]:
            ignored += 1                          # a later verification already stands
            continue
        by, note = mask_text(by), mask_text(note) or None
        new = dict(issue, verification_result=result, verified_on=on, verified_by=by,
                   verification_note=note, verification_received_on=file_date,
                   claimed_fixed_still_open=False, dismissed=result == "不属实")
        if result == "不属实":
            new["verified_fingerprint"] = dq_store.fingerprint(issue["detail"])
        said = f"核实结果：{result}（核实人 {by}，核实日期 {on}）" + (f"；说明：{note}" if note else "")
        events.append((*key, run_date, "verified", said, source))
        if result == "不属实" and not issue["dismissed"]:
            events.append((*key, run_date, "dismissed", "核实为不属实，停止预警，直到该问题的记录发生变化", source))
        changed[key] = new
        applied += 1
    dq_store.write_issues(conn, changed.values())
    return {"applied": applied, "ignored": ignored, "events": dq_store.write_events(conn, events)}
