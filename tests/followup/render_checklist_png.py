"""Render docs/checklist_filled.png: a town checklist as the platform writes it, filled in
the way a cadre would (not a test; run by hand when the checklist layout changes):

    .venv/bin/python tests/followup/render_checklist_png.py

Needs LibreOffice Calc and poppler-utils (apt-get install -y libreoffice-calc poppler-utils).
"""
from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from followup.checklist import COLUMNS, FILL_FROM, HEADER_ROW, build_workbook  # noqa: E402

RUN = dt.date(2026, 12, 1)
NAMES = {"341225101": "甲镇", "341225101201": "东村", "341225101202": "西村"}
TITLES = {"PAPER-02": "入户走访没有上传照片", "GRID-02": "网格员长期没有走访或登录",
          "MISS-03": "住房鉴定为C/D级危房未改造，但未纳入监测", "PAPER-01": "入户走访没有GPS定位"}


def _issue(rule, sev, et, eid, village, detail, first, due, hh="", worker="", **kw):
    return {"rule_id": rule, "severity": sev, "entity_type": et, "entity_id": eid, "town_code": "341225101",
                "village_code": village, "detail": detail, "first_detected_on": first, "due_on": due,
                "household_id": hh, "worker": worker, "escalation_level": kw.get("level", "village"),
                "claimed_fixed_still_open": kw.get("claimed", False), "verification_result": kw.get("result"),
                "verified_on": kw.get("on"), "verified_by": kw.get("by")}


ISSUES = [
    _issue("GRID-02", "medium", "grid_worker", "W000012", "341225101201", "网格员 W000012 超过 30 天没有走访或登录记录",
           dt.date(2026, 11, 10), dt.date(2026, 11, 25), worker="W000012 张建国", claimed=True,
           level="town", result="已整改", on=dt.date(2026, 11, 20), by="刘文"),
    _issue("PAPER-02", "high", "visit", "V00004512", "341225101202", "入户走访（2026-11-18，网格员 W000015）未上传照片",
           dt.date(2026, 11, 20), dt.date(2026, 11, 27), hh="H0003321", worker="W000015 李秀英", level="town"),
    _issue("MISS-03", "high", "household", "H0003108", "341225101201",
           "住建部门 2026-10-12 鉴定该户住房为C级危房且未改造完成，但未纳入监测（户主身份证 341225196805121234）",
           dt.date(2026, 11, 28), dt.date(2026, 12, 5), hh="H0003108"),
    _issue("PAPER-01", "high", "visit", "V00004630", "341225101201", "入户走访（2026-11-25，网格员 W000012）没有GPS定位",
           dt.date(2026, 11, 29), dt.date(2026, 12, 6), hh="H0003150", worker="W000012 张建国"),
]
FILLED = [("属实", "刘文", dt.date(2026, 12, 3), "网格员已恢复走访，本周补走访 12 户"),
          ("属实", "陈晓", dt.date(2026, 12, 3), "照片未上传，已要求 3 日内补传"),
          ("属实", "陈晓", dt.date(2026, 12, 2), "危房属实，已报乡镇纳入监测"),
          ("不属实", "刘文", dt.date(2026, 12, 2), "手机定位故障，现场有纸质签字照片")]


def main(out: Path = REPO / "docs" / "checklist_filled.png") -> None:
    import openpyxl

    data = build_workbook("甲镇 防返贫动态监测问题核查清单（2026年12月01日）", ISSUES, NAMES, TITLES, RUN)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    for n, values in enumerate(FILLED, start=HEADER_ROW + 1):
        for c, v in enumerate(values, start=FILL_FROM + 1):
            ws.cell(n, c, v)
    # the picture shows the useful columns at a readable size: hide a few wide ones
    for letter in ("E", "I", "L"):
        ws.column_dimensions[letter].hidden = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
    assert len(COLUMNS) == 19
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "checklist.xlsx"
        wb.save(xlsx)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(xlsx)],
                       check=True, capture_output=True, timeout=180)
        subprocess.run(["pdftoppm", "-png", "-r", "220", "-singlefile", str(Path(tmp) / "checklist.pdf"),
                        str(Path(tmp) / "page")], check=True, timeout=120)
        png = Path(tmp) / "page.png"
        from PIL import Image

        img = Image.open(png).convert("RGB")
        # crop the empty lower part of the page
        px = img.load()
        ink = [(x, y) for y in range(0, img.height, 3) for x in range(0, img.width, 3) if px[x, y] != (255, 255, 255)]
        left, top = min(x for x, _ in ink), min(y for _, y in ink)
        right, bottom = max(x for x, _ in ink), max(y for _, y in ink)
        img = img.crop((max(0, left - 20), max(0, top - 20), min(img.width, right + 20), min(img.height, bottom + 20)))
        if img.width > 1800:
            img = img.resize((1800, round(img.height * 1800 / img.width)), Image.LANCZOS)
        img = img.quantize(colors=64)
        img.save(out, optimize=True)
    print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
