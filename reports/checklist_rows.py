"""The weekly visit list from the closed-loop checklist (followup/, issue 13): the town's
乡镇核查清单 written for the run date, read back and grouped by household. The checklist is
what the town actually works from, so when it exists the weekly screening shows its rows."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from followup.checklist import HEADER_ROW, checklist_dir
from reports.common import rows

_OVERDUE = re.compile(r"逾期(\d+)天")


def town_checklist(outbox: Path, run_date: dt.date, town: str) -> Path | None:
    found = sorted((checklist_dir(outbox, run_date) / town).glob(f"乡镇核查清单_{town}_*.xlsx"))
    return found[0] if found else None


def read_checklist(path: Path) -> list[dict]:
    """The finding rows of a checklist, keyed by its Chinese headers."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        table = [list(r) for r in ws.iter_rows(min_row=HEADER_ROW, values_only=True)]
    finally:
        wb.close()
    head = table[0]
    return [dict(zip(head, r)) for r in table[1:] if r and r[0] is not None]


def _as_date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10]) if v else None


def households_from_checklist(conn, outbox: Path, run_date: dt.date, town: str) -> list[dict] | None:
    """One row per household of the town's checklist for run_date (rows without a household,
    e.g. grid-worker findings, are not house visits); None when there is no checklist."""
    path = town_checklist(outbox, run_date, town)
    if path is None:
        return None
    by_house: dict[str, dict] = {}
    for r in read_checklist(path):
        hid = r.get("户编号")
        if not hid:
            continue
        status = str(r.get("督办状态") or "")
        m = _OVERDUE.search(status)
        due = _as_date(r.get("整改期限"))
        h = by_house.setdefault(hid, {"household_id": hid, "findings": 0, "rules": set(), "due_on": None,
                                      "overdue_days": 0, "disputed": False, "source": "checklist"})
        h["findings"] += 1
        h["rules"].add(r["规则编号"])
        h["due_on"] = min(d for d in (h["due_on"], due) if d) if (h["due_on"] or due) else None
        h["overdue_days"] = max(h["overdue_days"], int(m.group(1)) if m else 0)
        h["disputed"] = h["disputed"] or "整改不实" in status
    village = {r["household_id"]: r["village_code"] for r in rows(
        conn, "select household_id, village_code from marts.dim_household where household_id = any(%s)",
        (list(by_house),))}
    for h in by_house.values():
        h["rules"] = "、".join(sorted(h["rules"]))
        h["village_code"] = village.get(h["household_id"])
    return list(by_house.values())
