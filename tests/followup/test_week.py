"""A week of the loop on a real warehouse: findings and checklists on day 1, a returned
checklist (some 不属实, 属实, 已整改, some malformed rows) on day 2, then dismissals that hold,
a changed record raised again, 整改不实, deadlines passing to the town and then the county
digest, every finding's story in dq.issue_event, and a backfill that changes nothing."""
from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
from pathlib import Path

import openpyxl
from followupdata import (
    COUNTY_SUP,
    D1,
    FULL_ID,
    TOWN1,
    TOWN2,
    TOWN_SUP,
    V11,
    V12,
    V21,
    events,
    finding,
    followup_cfg,
    issue,
)

from core.settings import Settings

DAY = {n: D1 + dt.timedelta(days=n - 1) for n in range(1, 8)}
PHONE = "13812345678"
A = ("PAPER-01", "V001")      # 不属实, record never changes: stays quiet
B = ("PAPER-02", "V002")      # 不属实, record changes on day 4: raised again
C = ("PAPER-02", "V003")      # 属实: deadline passes, town on day 4, county on day 6
E = ("GRID-02", "W001")       # 已整改 but still found on day 3: 整改不实
F = ("PAPER-05", "V010")      # 已整改 and gone on day 3: resolved
G = ("MISS-03", "H005")       # not verified on day 2; 属实 on day 3 (CSV)


def findings(day: int) -> list[tuple]:
    b_detail = "入户走访（2026-11-21，网格员 W001）未上传照片"
    if day >= 4:
        b_detail += "（补录后仍缺 2 张）"
    out = [finding(*A, V11, "入户走访（2026-11-20，网格员 W001）没有GPS定位"),
           finding(*B, V11, b_detail),
           finding(*C, V12, "入户走访（2026-11-22，网格员 W002）未上传照片"),
           finding(*E, V11, "网格员 W001 超过 30 天没有走访或登录记录"),
           finding(*G, V11, f"住建部门鉴定该户住房为C级危房且未改造完成，但未纳入监测（户主身份证 {FULL_ID}，电话 {PHONE}）")]
    if day < 3:
        out.append(finding(*F, V21, "走访时长不足 3 分钟（网格员 W003）"))
    return out


def rules_run(conn, day: int):
    """What the GX runner does after validating: merge the day's findings."""
    from expectations.catalog import load_rules
    from expectations.dq_store import sync_issues

    return sync_issues(conn, DAY[day], [r.rule_id for r in load_rules()], findings(day), due=followup_cfg().due)


def cells(path: Path) -> list[list]:
    ws = openpyxl.load_workbook(path).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def data_rows(path: Path) -> list[dict]:
    rows = cells(path)
    h = next(i for i, r in enumerate(rows) if r[:1] == ["序号"])
    return [dict(zip(rows[h], r)) for r in rows[h + 1:]]


def fill_day2(town_book: Path, out: Path) -> None:
    """A town supervisor fills the day-1 workbook in and adds rows, some of them wrong."""
    wb = openpyxl.load_workbook(town_book)
    ws = wb.worksheets[0]
    head = next(r for r in range(1, 10) if ws.cell(r, 1).value == "序号")
    col = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1)}
    answers = {A: ("不属实", "张三", dt.datetime(2026, 12, 2), "系统误报，现场有定位截图"),
               B: ("不属实", "张三", dt.datetime(2026, 12, 2), ""),
               C: ("属实", "李四", "2026年12月2日", f"户主电话 {PHONE}，已通知补拍"),
               E: ("已整改", "王五", dt.datetime(2026, 12, 1), "已恢复走访")}
    for r in range(head + 1, ws.max_row + 1):
        key = (ws.cell(r, col["规则编号"]).value, ws.cell(r, col["对象编号"]).value)
        if key in answers:
            for name, value in zip(("核实结果", "核实人", "核实日期", "说明"), answers[key]):
                ws.cell(r, col[name], value)
    extra = [("PAPER-05", "V010", "已整改", "赵六", dt.datetime(2026, 12, 2), "乙乡代报"),   # F, another town
             ("PAPER-99", "V001", "属实", "张三", dt.datetime(2026, 12, 2), ""),           # unknown rule
             ("PAPER-01", "V999", "属实", "张三", dt.datetime(2026, 12, 2), ""),           # no such finding
             ("PAPER-02", "V003", "核实中", "李四", dt.datetime(2026, 12, 2), ""),          # outside the list
             ("PAPER-01", "V001", "属实", "张三", dt.datetime(2026, 12, 5), ""),           # after the file date
             ("GRID-02", "W001", "属实", None, dt.datetime(2026, 12, 2), "")]              # nobody verified
    r = ws.max_row
    for rule, entity, result, by, on, note in extra:
        r += 1
        for name, value in zip(("规则编号", "对象编号", "核实结果", "核实人", "核实日期", "说明"),
                               (rule, entity, result, by, on, note)):
            ws.cell(r, col[name], value)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)


def write_day3_csv(out: Path) -> None:
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["规则编号", "对象编号", "核实结果", "核实人", "核实日期", "说明"])
        w.writerow(["MISS-03", "H005", "属实", "李四", "2026/12/3", "已报乡镇纳入监测"])
        w.writerow(["GRID-02", "W001", "属实", "李四", "2026-11-30", "早于已有的核实：不生效"])


def digests(outbox: Path, day: int) -> dict[str, email.message.EmailMessage]:
    out = {}
    for p in sorted(outbox.glob(f"{DAY[day]:%Y%m%d}_*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        out[email.utils.parseaddr(msg["To"])[1]] = msg
    return out


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def everything_in(msg) -> str:
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def test_a_week_of_the_loop(warehouse, followup_config, routing_file, tmp_path):
    from alerts.send import send_digests
    from expectations.dq_store import is_catch_up, latest_run_date
    from followup import run
    from followup.checklist import checklist_dir

    conn = warehouse
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    sent: dict[int, list[dict]] = {}

    def day(n: int, before_followup=None) -> dict:
        rules_run(conn, n)
        if before_followup:
            before_followup()
        out = run(conn, DAY[n], landing, outbox, followup_cfg())
        sent[n] = send_digests(conn, DAY[n], Settings.from_env(connection_id=None).replace(outbox_dir=outbox, routing_file=routing_file))["digests"]
        return out

    # --- day 1: findings and checklists -------------------------------------------------
    day(1)
    t1 = checklist_dir(outbox, DAY[1]) / TOWN1 / f"乡镇核查清单_{TOWN1}_甲镇_20261201.xlsx"
    t2 = checklist_dir(outbox, DAY[1]) / TOWN2 / f"乡镇核查清单_{TOWN2}_乙乡_20261201.xlsx"
    v11 = checklist_dir(outbox, DAY[1]) / TOWN1 / f"村核查清单_{V11}_东村_20261201.xlsx"
    assert {(r["规则编号"], r["对象编号"]) for r in data_rows(t1)} == {A, B, C, E, G}
    assert {(r["规则编号"], r["对象编号"]) for r in data_rows(t2)} == {F}
    assert {(r["规则编号"], r["对象编号"]) for r in data_rows(v11)} == {A, B, E, G}
    assert (checklist_dir(outbox, DAY[1]) / TOWN1 / f"村核查清单_{V12}_西村_20261201.xlsx").exists()
    assert (checklist_dir(outbox, DAY[1]) / TOWN2 / f"村核查清单_{V21}_南村_20261201.xlsx").exists()
    row_a = next(r for r in data_rows(t1) if (r["规则编号"], r["对象编号"]) == A)
    assert row_a["户编号"] == "H001" and row_a["网格员"] == "W001 张网格"
    assert row_a["整改期限"].date() == DAY[3] and row_a["核实结果"] is None
    # the drop-down is in place on every row's 核实结果
    ws = openpyxl.load_workbook(t1).worksheets[0]
    head = [c.value for c in ws[4]]
    result_col = openpyxl.utils.get_column_letter(head.index("核实结果") + 1)
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1 and lists[0].formula1 == '"属实,不属实,已整改"'
    assert all(f"{result_col}{r}" in lists[0].sqref for r in range(5, 10))
    # masked: neither the ID number nor the phone appears anywhere in any checklist
    for book in checklist_dir(outbox, DAY[1]).rglob("*.xlsx"):
        flat = "|".join(str(v) for row in cells(book) for v in row if v is not None)
        assert FULL_ID not in flat and PHONE not in flat
    assert "341225********1234" in "|".join(str(r["问题说明"]) for r in data_rows(t1))
    d1 = digests(outbox, 1)
    assert set(d1) == {COUNTY_SUP, TOWN_SUP}
    town_atts = [p.get_filename() for p in d1[TOWN_SUP].iter_attachments()]
    assert t1.name in town_atts and t2.name not in town_atts
    assert not any(n.endswith(".xlsx") for n in (p.get_filename() for p in d1[COUNTY_SUP].iter_attachments()))
    att = next(p for p in d1[TOWN_SUP].iter_attachments() if p.get_filename() == t1.name)
    assert att.get_payload(decode=True) == t1.read_bytes()
    for msg in d1.values():
        assert FULL_ID not in everything_in(msg) and PHONE not in everything_in(msg)

    # --- day 2: the filled checklist comes back -----------------------------------------
    returned = landing / "verification" / "verification_20261202.xlsx"
    out2 = day(2, lambda: fill_day2(t1, returned))
    files = out2["verification"]["files"]
    assert [(f["status"], f["rows_loaded"], f["rows_rejected"]) for f in files] == [("succeeded", 6, 5)]
    assert out2["verification"]["applied"] == 5          # A, B, C, E, F; G's row left empty
    reasons = [r[0] for r in conn.execute(
        "select reason from raw.rejected_row r join raw.load_batch b using (batch_id) "
        "where b.source = 'verification' order by r.line_no")]
    for expected in ("PAPER-99”不在规则目录中", "没有对象编号为“V999”的问题", "核实结果“核实中”不在允许的取值",
                     "晚于本文件日期 2026-12-02", "未填写核实人"):
        assert any(expected in r for r in reasons), (expected, reasons)
    assert issue(conn, *A)["dismissed"] and issue(conn, *B)["dismissed"]
    assert issue(conn, *C)["verification_result"] == "属实" and not issue(conn, *C)["dismissed"]
    assert issue(conn, *C)["verified_on"] == DAY[2]                 # 2026年12月2日 read as a date
    assert PHONE not in issue(conn, *C)["verification_note"]        # masked in dq too
    assert issue(conn, *E)["verification_result"] == "已整改"
    assert issue(conn, *G)["verification_result"] is None
    t1_d2 = checklist_dir(outbox, DAY[2]) / TOWN1 / f"乡镇核查清单_{TOWN1}_甲镇_20261202.xlsx"
    assert {(r["规则编号"], r["对象编号"]) for r in data_rows(t1_d2)} == {C, E, G}   # dismissed: no visit
    assert next(r for r in data_rows(t1_d2) if (r["规则编号"], r["对象编号"]) == C)["上次核实"].startswith("属实")
    # nothing new or resolved, no deadline passed: no digest on day 2
    assert {r["recipient"]: r["status"] for r in sent[2]}[TOWN_SUP] == "unchanged"

    # --- day 3: dismissed stay quiet; 已整改 still found is 整改不实; F resolved ----------
    csv3 = landing / "verification" / "verification_20261203.csv"
    day(3, lambda: write_day3_csv(csv3))
    assert issue(conn, *E)["claimed_fixed_still_open"]
    assert issue(conn, *F)["status"] == "resolved"
    assert issue(conn, *G)["verification_result"] == "属实"
    assert issue(conn, *E)["verification_result"] == "已整改"      # the older 属实 (11-30) did not win
    d3 = digests(outbox, 3)
    town3 = text_of(d3[TOWN_SUP])
    assert "V001" not in town3 and "V002" not in town3             # dismissed: no alert
    assert "【整改不实" in town3 and town3.index("【整改不实") < town3.index("一、按规则族统计")
    disputed = town3[town3.index("【整改不实"):town3.index("一、按规则族统计")]
    assert "W001" in disputed and "V003" not in disputed
    assert "整改不实 1 条" in d3[TOWN_SUP]["Subject"]
    first = data_rows(checklist_dir(outbox, DAY[3]) / TOWN1 / f"乡镇核查清单_{TOWN1}_甲镇_20261203.xlsx")[0]
    assert (first["规则编号"], first["对象编号"]) == E and "整改不实" in first["督办状态"]

    # --- day 4: B's record changed: raised again; C and G past their deadline: town ------
    day(4)
    assert not issue(conn, *B)["dismissed"] and issue(conn, *B)["due_on"] == DAY[6]
    assert issue(conn, *A)["dismissed"]
    assert issue(conn, *C)["escalation_level"] == "town"
    d4 = digests(outbox, 4)
    town4 = text_of(d4[TOWN_SUP])
    assert "V002" in town4 and "V001" not in town4
    overdue4 = town4[town4.index("【逾期未整改"):town4.index("一、按规则族统计")]
    assert "V003" in overdue4 and "逾期 1 天" in overdue4 and "乡镇督办" in overdue4
    assert "【逾期未整改" not in text_of(d4[COUNTY_SUP])         # town level: not yet the county's

    # --- day 5: E past its deadline; nothing for the county ------------------------------
    day(5)
    assert issue(conn, *E)["escalation_level"] == "town" and issue(conn, *C)["escalation_level"] == "town"
    status5 = {r["recipient"]: r["status"] for r in sent[5]}
    assert status5[TOWN_SUP] != "unchanged" and status5[COUNTY_SUP] == "unchanged"

    # --- day 6: C and G overdue by the second period: the county digest ------------------
    day(6)
    assert issue(conn, *C)["escalation_level"] == "county"
    county6 = text_of(digests(outbox, 6)[COUNTY_SUP])
    overdue6 = county6[county6.index("【逾期未整改"):county6.index("一、按规则族统计")]
    assert "V003" in overdue6 and "逾期 3 天" in overdue6 and "县级督办" in overdue6
    assert "W001" not in overdue6                                 # E is only at the town yet
    html6 = digests(outbox, 6)[COUNTY_SUP].get_body(preferencelist=("html",)).get_content()
    assert html6.index("逾期未整改") < html6.index("一、按规则族统计") and "县级督办" in html6

    # --- day 7, then the same day again: nothing twice -----------------------------------
    day(7)
    n_events = conn.execute("select count(*) from dq.issue_event").fetchone()[0]
    emls = sorted(p.name for p in outbox.glob("*.eml"))
    day(7)
    assert conn.execute("select count(*) from dq.issue_event").fetchone()[0] == n_events
    assert sorted(p.name for p in outbox.glob("*.eml")) == emls
    assert {r["status"] for r in sent[7]} <= {"skipped", "unchanged"}

    # --- every finding's story -------------------------------------------------------------
    assert events(conn, *A) == [(DAY[1], "opened"), (DAY[2], "verified"), (DAY[2], "dismissed")]
    assert events(conn, *B) == [(DAY[1], "opened"), (DAY[2], "verified"), (DAY[2], "dismissed"),
                                (DAY[4], "raised_again"), (DAY[7], "escalated")]
    assert events(conn, *C) == [(DAY[1], "opened"), (DAY[2], "verified"), (DAY[4], "escalated"),
                                (DAY[6], "escalated")]
    assert events(conn, *E) == [(DAY[1], "opened"), (DAY[2], "verified"),
                                (DAY[3], "claimed_fixed_still_open"), (DAY[5], "escalated"),
                                (DAY[7], "escalated")]
    assert events(conn, *F) == [(DAY[1], "opened"), (DAY[2], "verified"), (DAY[3], "resolved")]
    assert events(conn, *G) == [(DAY[1], "opened"), (DAY[3], "verified"), (DAY[4], "escalated"),
                                (DAY[6], "escalated")]
    sources = dict(conn.execute("select event, string_agg(distinct source, ',') from dq.issue_event group by 1"))
    assert sources["opened"] == "rule_run" and sources["escalated"] == "deadline"
    assert sources["verified"] == "verification:verification_20261202.xlsx,verification:verification_20261203.csv"
    assert "与“已整改”的核实结果一致" in conn.execute(
        "select detail from dq.issue_event where event = 'resolved' and entity_id = 'V010'").fetchone()[0]

    # --- a backfill of day 3 after day 7 changes nothing of today's state ----------------
    snapshot = conn.execute("select md5(string_agg(t::text, '|' order by rule_id, entity_id)) "
                            "from dq.issue t").fetchone()[0]
    assert latest_run_date(conn) == DAY[7] and is_catch_up(conn, DAY[3]) and not is_catch_up(conn, DAY[7])
    merged = rules_run(conn, 3)          # B's old record, F present: would flip both
    assert merged["catch_up_rules"] > 0 and merged["new"] == merged["resolved"] == merged["events"] == 0
    assert run(conn, DAY[3], landing, outbox, followup_cfg())["catch_up"] is True
    assert conn.execute("select md5(string_agg(t::text, '|' order by rule_id, entity_id)) "
                        "from dq.issue t").fetchone()[0] == snapshot
    assert conn.execute("select count(*) from dq.issue_event").fetchone()[0] == n_events
    # that date's own slice was recorded again
    assert conn.execute("select count(*) from dq.issue_slice where run_date = %s", (DAY[3],)).fetchone()[0] == 5


def test_checklist_bytes_are_stable(warehouse, followup_config, tmp_path):
    """The same content gives the same workbook bytes, a second later too (send-once keys on
    the attachment; openpyxl stamps the save time)."""
    import time

    from followup.checklist import write_checklists

    rules_run(warehouse, 1)
    a = {p.name: p.read_bytes() for p in write_checklists(warehouse, DAY[1], tmp_path / "o1")}
    time.sleep(1.1)
    b = {p.name: p.read_bytes() for p in write_checklists(warehouse, DAY[1], tmp_path / "o2")}
    assert a and a == b
