"""The reports as a reader gets them: e-mails in the outbox (through the alerts' delivery),
XLSX packs, every figure checked against Python over dq.issue and the province's records,
nothing unmasked; the monthly e-mail rendered in headless Chromium for docs/."""
from __future__ import annotations

import base64
import datetime as dt
import email
import io
import os
import re
import shutil
import struct
import subprocess
from collections import Counter, defaultdict
from email import policy as email_policy
from pathlib import Path

import pytest
from reportdata import RUN_DATE, live

from core.settings import Settings

CHROMIUM = "/usr/bin/chromium"
DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "monthly_review.png"
UNMASKED = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture()
def out_dirs(db, tmp_path, monkeypatch):
    """Fresh outbox and report folder; no earlier delivery of a report remembered."""
    from core.schema import ensure_schema

    ensure_schema(db, "dq")
    db.execute("delete from dq.alert_delivery where digest_key ~ '^(weekly|monthly|quarterly)'")
    db.commit()
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("ALERT_SMTP_CONN_ID", raising=False)
    return tmp_path


def _issues(db):
    cur = db.execute("select * from dq.issue")
    names = [c.name for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _emails(outbox: Path, prefix: str):
    return [email.message_from_bytes(p.read_bytes(), policy=email_policy.default)
            for p in sorted(outbox.glob(f"{prefix}*.eml"))]


def _sheets(blob: bytes) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(blob), read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _attachment(msg) -> bytes:
    (part,) = [p for p in msg.iter_attachments() if (p.get_filename() or "").endswith(".xlsx")]
    return part.get_content()


def _no_personal_data(msg, sheets):
    # every header but Message-ID, whose random number may have 18 digits (make_msgid)
    text = "\n".join(f"{k}: {v}" for k, v in msg.items() if k.lower() != "message-id")
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            text += part.get_content()
    cells = " ".join(str(c) for rows in sheets.values() for r in rows for c in r if c is not None)
    assert not UNMASKED.search(text) and not UNMASKED.search(cells)


def _expected_visits(mine: list[dict], household_of) -> dict[str, tuple[int, int, bool]]:
    """household -> (open findings, days past the earliest due date, any 整改不实), from dq.issue."""
    per = defaultdict(list)
    for i in mine:
        if i["status"] == "open" and not i["dismissed"]:
            hid = household_of(i)
            if hid:
                per[hid].append(i)
    return {hid: (len(items), max(0, (RUN_DATE - min(i["due_on"] for i in items)).days),
                  any(i["claimed_fixed_still_open"] for i in items)) for hid, items in per.items()}


def _visit_rows_check(visits: list[tuple], expected: dict, source: str, town: str) -> None:
    got = {r[0]: (r[2], r[5], r[6] == "是") for r in visits}
    assert got == expected, town
    assert {r[7] for r in visits} <= {source}
    # 整改不实 first, then the most days overdue, then the most findings
    keys = [(not (r[6] == "是"), -r[5], -r[2], r[0]) for r in visits]
    assert keys == sorted(keys), town


def _overdue_check(sheet: list[tuple], mine: list[dict], town: str) -> None:
    overdue = [i for i in mine if i["status"] == "open" and not i["dismissed"] and (RUN_DATE - i["due_on"]).days > 0]
    rows = sheet[1:]
    assert sorted((r[0], r[2], r[6]) for r in rows) == sorted(
        (i["rule_id"], i["entity_id"], (RUN_DATE - i["due_on"]).days) for i in overdue), town
    keys = [(r[7] != "是", -r[6]) for r in rows]
    assert keys == sorted(keys), town


def _weekly_mails(outbox: Path) -> dict[str, object]:
    return {next(p for p in m.iter_attachments()).get_filename(): m for m in _emails(outbox, "weekly_")}


@pytest.fixture()
def overdue_planted(db):
    """The province ran one day, so nothing is past its due date yet: move three open findings'
    due dates back (one of them reported fixed and still there), and restore them after."""
    picked = db.execute("select rule_id, entity_id, due_on from dq.issue where status = 'open' and not dismissed "
                        "and entity_type in ('household', 'visit') order by town_code, rule_id, entity_id "
                        "limit 3").fetchall()
    assert len(picked) == 3
    for (rule, entity, _), days, disputed in zip(picked, (10, 3, 5), (False, True, False)):
        db.execute("update dq.issue set due_on = %s, claimed_fixed_still_open = %s "
                   "where (rule_id, entity_id) = (%s, %s)", (RUN_DATE - dt.timedelta(days=days), disputed, rule, entity))
    db.commit()
    yield picked
    for rule, entity, due in picked:
        db.execute("update dq.issue set due_on = %s, claimed_fixed_still_open = false "
                   "where (rule_id, entity_id) = (%s, %s)", (due, rule, entity))
    db.commit()


def test_weekly_screening_per_town(db, out_dirs, platform_records, overdue_planted):
    from reports.produce import produce

    result = produce("weekly", RUN_DATE, Settings.from_env(connection_id=None), conn=db, rebuild=False)
    issues = _issues(db)
    since = RUN_DATE - dt.timedelta(days=6)
    hh = {h["household_id"]: h for h in live(platform_records, "households", "household_id")}
    visit_household = {v["visit_id"]: v["household_id"] for v in live(platform_records, "visits", "visit_id")}
    towns = sorted({h["village_code"][:9] for h in hh.values()})
    assert [r["town"] for r in result] == towns
    mails = _weekly_mails(out_dirs / "outbox")
    assert len(mails) == len(towns)

    def household_of(i):
        hid = i["entity_id"] if i["entity_type"] == "household" else visit_household.get(i["entity_id"]) \
            if i["entity_type"] == "visit" else None
        return hid if hid in hh else None

    for town in towns:
        mine = [i for i in issues if i["town_code"] == town]
        new = [i for i in mine if i["status"] == "open" and i["first_detected_on"] >= since]
        still = [i for i in mine if i["status"] == "open" and i["first_detected_on"] < since]
        resolved = [i for i in mine if i["status"] == "resolved" and since <= i["resolved_on"] <= RUN_DATE]
        expected = _expected_visits(mine, household_of)
        msg = mails[f"周排查_{town}_{RUN_DATE:%Y%m%d}.xlsx"]
        sheets = _sheets(_attachment(msg))
        _visit_rows_check(sheets["入户核实"][1:], expected, "问题库", town)
        assert len(sheets["本周新发现"]) - 1 == len(new)
        assert len(sheets["仍未解决"]) - 1 == len(still)
        _overdue_check(sheets["逾期未整改"], mine, town)
        assert len(sheets["本周已解决"]) - 1 == len(resolved)
        drawn = db.execute("select household_id from reports.backcheck_draw where town_code = %s and week_start = %s",
                           (town, RUN_DATE - dt.timedelta(days=RUN_DATE.weekday()))).fetchall()
        assert {r[0] for r in sheets["抽查名单"][1:]} == {r[0] for r in drawn} and len(drawn) == 5
        text = msg.get_body(("plain",)).get_content()
        assert f"本周新发现 {len(new)} 条" in text and f"需入户核实 {len(expected)} 户" in text
        _no_personal_data(msg, sheets)
    assert sum(len(_sheets(_attachment(m))["逾期未整改"]) - 1 for m in mails.values()) >= 3
    # the routed town gets its own supervisor; the other goes to its county's
    to = {name: m["To"] for name, m in mails.items()}
    assert "fpr-town-341225101@" in to[f"周排查_341225101_{RUN_DATE:%Y%m%d}.xlsx"]
    assert "fpr-county-341225@" in to[f"周排查_341225102_{RUN_DATE:%Y%m%d}.xlsx"]
    # the same report again is not sent twice
    assert {r["status"] for r in produce("weekly", RUN_DATE, Settings.from_env(connection_id=None), conn=db, rebuild=False)} == {"skipped"}


def test_weekly_visit_list_from_the_checklist(db, out_dirs, platform_records, overdue_planted):
    """With followup's checklists written for the date, the visit list is their rows: households
    reached through visits, cases and persons too, dismissed findings left out, 整改不实 first."""
    from followup.checklist import write_checklists
    from reports.produce import produce

    # one finding reported fixed and still there, one found 不属实: both must show in the list
    picked = db.execute("select rule_id, entity_id from dq.issue where status = 'open' and town_code is not null "
                        "and entity_type in ('household', 'visit') order by first_detected_on desc, rule_id, "
                        "entity_id limit 2").fetchall()
    assert len(picked) == 2
    db.execute("update dq.issue set claimed_fixed_still_open = true where (rule_id, entity_id) = (%s, %s)", picked[0])
    db.execute("update dq.issue set dismissed = true where (rule_id, entity_id) = (%s, %s)", picked[1])
    db.commit()
    try:
        written = write_checklists(db, RUN_DATE, out_dirs / "outbox")
        assert written
        produce("weekly", RUN_DATE, Settings.from_env(connection_id=None), conn=db, rebuild=False)
        issues = _issues(db)
    finally:
        db.execute("update dq.issue set claimed_fixed_still_open = false where (rule_id, entity_id) = (%s, %s)",
                   picked[0])
        db.execute("update dq.issue set dismissed = false where (rule_id, entity_id) = (%s, %s)", picked[1])
        db.commit()
    hh = {h["household_id"] for h in live(platform_records, "households", "household_id")}
    via = {"visit": {v["visit_id"]: v["household_id"] for v in live(platform_records, "visits", "visit_id")},
           "monitoring_case": {c["case_id"]: c["household_id"]
                               for c in live(platform_records, "monitoring_cases", "case_id")},
           "person": {p["person_id"]: p["household_id"] for p in live(platform_records, "persons", "person_id")}}

    def household_of(i):
        hid = i["entity_id"] if i["entity_type"] == "household" else via.get(i["entity_type"], {}).get(i["entity_id"])
        return hid if hid in hh else None

    mails = _weekly_mails(out_dirs / "outbox")
    towns_with_list = {p.parent.name for p in written}
    disputed_seen = False
    for town in sorted(towns_with_list):
        mine = [i for i in issues if i["town_code"] == town]
        sheets = _sheets(_attachment(mails[f"周排查_{town}_{RUN_DATE:%Y%m%d}.xlsx"]))
        visits = sheets["入户核实"][1:]
        _visit_rows_check(visits, _expected_visits(mine, household_of), "核查清单", town)
        _overdue_check(sheets["逾期未整改"], mine, town)
        disputed_seen |= any(r[6] == "是" for r in visits)
    assert disputed_seen


def test_monthly_review_email_and_pack(db, out_dirs, tmp_path):
    from reports import monthly
    from reports.charts import monthly_trend_chart
    from reports.produce import produce

    (res,) = produce("monthly", RUN_DATE, Settings.from_env(connection_id=None), conn=db, rebuild=False)
    assert res["status"] == "outbox"
    (msg,) = _emails(out_dirs / "outbox", "monthly_")
    assert msg["Subject"] == f"【月研判】阜南县 {RUN_DATE:%Y年%m月} 防返贫监测月度研判"
    html = msg.get_body(("html",)).get_content()
    assert 'src="cid:monthly_trend"' in html
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    sheets = _sheets(_attachment(msg))
    issues = [i for i in _issues(db) if i["county_code"] == "341225"]
    open_issues = [i for i in issues if i["status"] == "open"]
    by_village = Counter(i["village_code"] for i in open_issues if i["village_code"])
    top = sorted(by_village.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [(r[0], r[2]) for r in sheets["问题最多的村"][1:]] == top
    oldest = sorted(open_issues, key=lambda i: (i["first_detected_on"], i["rule_id"], i["entity_id"]))[:10]
    assert [(r[0], r[5]) for r in sheets["久拖未决"][1:]] == \
           [(i["rule_id"], (RUN_DATE - i["first_detected_on"]).days) for i in oldest]
    paper = defaultdict(int)
    visit_worker = dict(db.execute("select visit_id, worker_id from marts.fct_visit "
                                   "where visit_date >= date '2026-06-01' and visit_date <= %s", (RUN_DATE,)))
    for i in issues:
        if i["rule_id"].startswith("PAPER-") and i["entity_id"] in visit_worker:
            paper[visit_worker[i["entity_id"]]] += 1
    expected_workers = sorted(paper.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [(r[0], r[3]) for r in sheets["网格员"][1:]] == expected_workers
    assert len(sheets["月度趋势"]) == 7
    _no_personal_data(msg, sheets)

    if not os.path.exists(CHROMIUM):
        pytest.skip("/usr/bin/chromium 不存在（apt-get install chromium）：不生成 docs/monthly_review.png")
    (r,) = monthly.collect(db, RUN_DATE)
    png = monthly_trend_chart(r.months)
    page = monthly.render_html(r, chart_src="data:image/png;base64," + base64.b64encode(png).decode())
    src = tmp_path / "monthly.html"
    src.write_text(page, encoding="utf-8")
    shot = tmp_path / "monthly.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1600",
                    f"--screenshot={shot}", src.as_uri()], check=True, timeout=60, capture_output=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 1600)
    assert len(data) > 20_000
    # the checkout is left as it was unless the screenshot is asked for (docs/reports.md)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_PNG.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_PNG)


def test_quarterly_linkage_sheet_per_department(db, out_dirs):
    from reports.produce import produce

    (res,) = produce("quarterly", RUN_DATE, Settings.from_env(connection_id=None), conn=db, rebuild=False)
    assert res["departments"] == 8
    (msg,) = _emails(out_dirs / "outbox", "quarterly_")
    sheets = _sheets(_attachment(msg))
    mart = db.execute("select department, quarter_start, rows_received, signals, unverified_signals "
                      "from marts.rpt_dept_linkage_quarterly order by folder, quarter_start").fetchall()
    departments = {m[0] for m in mart}
    assert set(sheets) == {"汇总"} | departments
    for dept in departments:
        rows = sheets[dept][1:]
        mine = [m for m in mart if m[0] == dept]
        assert [(r[1], r[2], r[7]) for r in rows] == [(m[2], m[3], m[4]) for m in mine]
    assert msg["Subject"] == "【季联动】2026年第4季度 部门数据联动情况"
    _no_personal_data(msg, sheets)
