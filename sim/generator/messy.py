"""Render canonical feed rows into landing files, messy the way section 4 of CONTRACT.md says.

Returns the delivered-file list (what truth reads: rows per file with their line numbers),
expected rejects and the messy-case register for the manifest.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

from .common import Ctx
from .schema import FOLDERS, short_header

FW = str.maketrans({str(i): chr(0xFF10 + i) for i in range(10)} | {"X": "Ｘ"})
EXCEL_EPOCH = date(1899, 12, 30)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
SCI = "3.41225E+17"


def fmt_date(d: date, style: str) -> str:
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return f"{d:%Y%m%d}"
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    return d.isoformat()


def fmt_money(v: float, style: str) -> str:
    if style == "comma":
        return f"{v:,.2f}"
    if style == "yuan":
        return f"{v:.2f}".rstrip("0").rstrip(".") + "元"
    return f"{v:.2f}"


def fmt_id(s: str, style: str) -> str:
    if style == "fw":
        return s.translate(FW)
    if style == "sp":
        return f"  {s} "
    if style == "lx":
        return s[:-1] + "x" if s.endswith("X") else s
    return s


class FileSpec:
    """How one file is made messy. Lists are per-row random choices."""

    def __init__(self, enc=None, dates=("iso",), money=("plain",), ids=("plain",), headers=None, drop=(), extra=None,
                 rejects=(), xlsx_layout=(), truncate=False, empty=False):
        self.enc, self.dates, self.money, self.ids = enc, dates, money, ids
        self.headers = headers or {}  # key -> "short" | "fullwidth" | "trailing"
        self.drop, self.extra, self.rejects = drop, extra, rejects
        self.xlsx_layout, self.truncate, self.empty = xlsx_layout, truncate, empty


def specs(ctx: Ctx) -> dict[tuple[str, date], FileSpec]:
    """The messy plan: which file carries which section-4 case."""
    d = ctx.day
    H = d(ctx.days)
    mixed = ("iso", "slash", "compact", "cn")
    return {
        ("yibao", H): FileSpec(dates=mixed, money=("plain", "comma", "yuan"), ids=("plain", "plain", "fw", "sp", "lx"),
                               headers={"name": "trailing", "settle": "trailing"},
                               rejects=(("id_scientific_notation", "id"), ("id_scientific_notation", "id"), ("bad_date", "settle"), ("bad_money", "compliant"))),
        ("yibao", d(4)): FileSpec(headers={"kind": "short"}, ids=("lx", "plain")),
        ("yibao", d(3)): FileSpec(drop=("hospital",), money=("comma",)),
        ("yibao", d(2)): FileSpec(enc="utf-8-sig", dates=("slash",)),
        ("minzheng", H): FileSpec(dates=("serial", "xdate", "iso", "cn"), money=("num", "yuan", "comma"), ids=("plain", "fw", "sp", "lx"),
                                  headers={"kind": "fullwidth", "status": "fullwidth", "name": "trailing"},
                                  xlsx_layout=("title", "blank", "repeat_header", "totals")),
        ("minzheng", d(1)): FileSpec(headers={"kind": "short", "status": "short"}, dates=("compact",)),
        ("canlian", H): FileSpec(dates=("compact", "iso")),
        ("canlian", d(3)): FileSpec(enc="utf-8"),
        ("canlian", d(1)): FileSpec(empty=True),
        ("gongan", H): FileSpec(dates=("iso", "slash"), ids=("plain", "sp", "lx"), rejects=(("id_scientific_notation", "id"),)),
        ("gongan", d(4)): FileSpec(extra=("备注", "核查补录")),
        ("gongan", d(1)): FileSpec(enc="gb18030", headers={"event": "fullwidth"}),
        ("jiaoyu", H): FileSpec(xlsx_layout=("title", "totals"), ids=("plain", "fw"), headers={"stage": "short"}),
        ("zhujian", H): FileSpec(dates=("cn", "iso")),
        ("zhujian", d(3)): FileSpec(truncate=True),
        ("renshe", H): FileSpec(money=("yuan", "plain"), rejects=(("id_scientific_notation", "id"),)),
        ("fund_project", H): FileSpec(dates=("serial", "xdate"), headers={"cat": "fullwidth"}),
        ("fund_payment", H): FileSpec(money=("comma", "plain"), dates=("compact", "iso"), rejects=(("bad_date", "date"),)),
        ("consumption_product", H): FileSpec(dates=("xdate",)),
        ("consumption_sale", H): FileSpec(dates=("slash", "iso"), money=("plain", "yuan"), rejects=(("bad_money", "amount"),)),
        ("fund_allocation", H): FileSpec(xlsx_layout=("title", "totals"), money=("num",)),
        # FRESH-02 (planted province only): the run date's yibao file, one unreadable row in three
        **({} if ctx.clean else {("yibao", d(0)): FileSpec(rejects=(("bad_date", "settle"),))}),
    }


def header_text(h: str, how: str | None) -> str:
    if how == "short":
        return short_header(h)
    if how == "fullwidth":
        return h.replace("(", "（").replace(")", "）")
    if how == "trailing":
        return h + "  "
    return h


def _fixed_xlsx(wb: Workbook) -> bytes:
    """openpyxl stamps zip entries and docProps with the wall clock: rewrite both for byte-identical output."""
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return out.getvalue()


class Renderer:
    def __init__(self, ctx: Ctx, out: Path, keep_rows: bool = True):
        """`keep_rows=False`: the delivered list keeps only counts of the readable rows (`rows_good`)."""
        self.ctx, self.out, self.keep_rows = ctx, out, keep_rows
        self.delivered: list[dict] = []   # one per file: folder, date, tree, name, rows[(line, row)]
        self.rejects: list[tuple] = []
        self.cases: dict[str, list[str]] = {}
        self.file_rows: dict[str, int] = {}
        self.plan = specs(ctx)

    def case(self, name: str, path: str) -> None:
        lst = self.cases.setdefault(name, [])
        if path not in lst:
            lst.append(path)

    def render(self, folder: str, fdate: date, rows: list[dict], tree: str = "landing", spec: FileSpec | None = None) -> bytes:
        sch = FOLDERS[folder]
        spec = spec or self.plan.get((folder, fdate)) or FileSpec()
        rng = self.ctx.rng(f"messy:{folder}:{fdate}:{tree}")
        ext = sch["fmt"]
        name = f"{folder}_{fdate:%Y%m%d}.{ext}"
        rel = f"{tree}/{folder}/{name}"
        cols = [c for c in sch["cols"] if c[0] not in spec.drop]
        headers = [header_text(h, spec.headers.get(k)) for k, h, _, _ in cols]
        if spec.extra:
            headers.append(spec.extra[0])
            self.case("extra_unknown_column", rel)
        if spec.drop:
            self.case("missing_optional_column", rel)
        for _k, how in spec.headers.items():
            self.case({"short": "header_without_value_list", "fullwidth": "header_fullwidth_brackets", "trailing": "header_trailing_spaces"}[how], rel)
        data = [] if spec.empty else list(rows)
        if spec.empty:
            self.case("empty_file_header_only", rel)
        # rows to inject that cannot be read (copies of real rows with one field broken)
        bad = []
        for reason, key in spec.rejects:
            if data:
                bad.append((rng.randrange(len(data) + 1), dict(data[rng.randrange(len(data))]), reason, key))
        seq: list[tuple[dict, str | None, str | None]] = [(r, None, None) for r in data]
        for pos, row, reason, key in sorted(bad, key=lambda x: -x[0]):
            seq.insert(pos, (row, reason, key))
        if spec.truncate and data:
            seq.append((dict(data[-1]), "truncated_row", None))
        kinds = {k: kind for k, _, kind, _ in cols}

        def cell(k, v, reason, key, xlsx):
            kind = kinds[k]
            if reason and k == key:
                return {"id_scientific_notation": SCI, "bad_date": rng.choice(["不详", "2026-02-30", "0000-00-00"]), "bad_money": rng.choice(["待核", "--"])}[reason]
            if v is None:
                if kind == "money":
                    self.case("money_empty", rel)
                return None if xlsx else ""
            if kind == "date":
                st = rng.choice(spec.dates)
                if xlsx and st == "serial":
                    self.case("date_excel_serial", rel)
                    return (v - EXCEL_EPOCH).days
                if xlsx and st == "xdate":
                    return datetime(v.year, v.month, v.day)
                st = st if st in ("slash", "compact", "cn") else "iso"
                self.case(f"date_{st}", rel)
                return fmt_date(v, st)
            if kind == "money":
                st = rng.choice(spec.money)
                if xlsx and st in ("num", "plain"):
                    return float(v)
                st = "plain" if st == "num" else st
                if st == "comma" and v < 1000:
                    st = "plain"
                if st != "plain":
                    self.case(f"money_{st}", rel)
                return fmt_money(v, st)
            if kind == "id":
                st = rng.choice(spec.ids)
                if st == "lx" and not v.endswith("X"):
                    st = "plain"
                if st != "plain":
                    self.case({"fw": "id_fullwidth_digits", "sp": "id_surrounding_spaces", "lx": "id_lowercase_x"}[st], rel)
                return fmt_id(v, st)
            if kind == "int":
                return int(v) if xlsx else str(int(v))
            return str(v)

        out_rows = []
        for row, reason, key in seq:
            vals = [cell(k, row.get(k), reason, key, ext == "xlsx") for k, _, _, _ in cols]
            if spec.extra:
                vals.append(spec.extra[1])
            out_rows.append((vals, row, reason))
            if reason == "id_scientific_notation":
                self.case("id_scientific_notation", rel)
        good: list[tuple[int, dict]] = []
        if ext == "csv":
            enc = spec.enc or sch["enc"]
            self.case({"gb18030": "encoding_gb18030", "utf-8": "encoding_utf8", "utf-8-sig": "encoding_utf8_bom"}[enc], rel)
            if enc != sch["enc"]:
                self.case("encoding_differs_from_contract", rel)
            nl = "\r\n" if enc == "gb18030" else "\n"
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator=nl)
            w.writerow(headers)
            for i, (vals, row, reason) in enumerate(out_rows):
                w.writerow(vals)
                line = i + 2
                if reason:
                    self.rejects.append((folder, name, line, reason, tree))
                else:
                    good.append((line, row))
            text = buf.getvalue()
            if spec.truncate and out_rows:
                body, last = text[: -len(nl)].rsplit(nl, 1)
                cut = last.index(",", last.index(",") + 1) - 3  # inside the 2nd field: too few columns
                text = body + nl + last[:cut]
                self.case("truncated_file", rel)
            blob = text.encode(enc)
        else:
            wb = Workbook()
            ws = wb.active
            ws.title = "Sheet1"
            r = 0
            if "title" in spec.xlsx_layout:
                ws.append([f"阜南县{fdate.year}年{fdate.month}月{ {'minzheng': '低保名单', 'jiaoyu': '学籍名册', 'fund_allocation': '衔接资金分配表'}.get(folder, '导出')}"])
                r += 1
                self.case("xlsx_title_row", rel)
            ws.append(headers)
            r += 1
            mid = len(out_rows) // 2
            for i, (vals, row, reason) in enumerate(out_rows):
                if "blank" in spec.xlsx_layout and i in (3, mid + 2):
                    ws.append([])
                    r += 1
                    self.case("xlsx_blank_rows", rel)
                if "repeat_header" in spec.xlsx_layout and i == mid:
                    ws.append(headers)
                    r += 1
                    self.case("xlsx_repeated_header", rel)
                ws.append(vals)
                r += 1
                if reason:
                    self.rejects.append((folder, name, r, reason, tree))
                else:
                    good.append((r, row))
            if "totals" in spec.xlsx_layout:
                mk = [i for i, c in enumerate(cols) if c[2] == "money"]
                tot = [None] * len(headers)
                tot[0] = "合计"
                for i in mk:
                    tot[i] = round(sum(float(row.get(cols[i][0]) or 0) for _, row, reason in out_rows if not reason), 2)
                ws.append(tot)
                self.case("xlsx_totals_row", rel)
            blob = _fixed_xlsx(wb)
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        self.file_rows[rel] = len(out_rows)
        # a truncated file cannot be trusted: the loader refuses it whole (CONTRACT §4, issue 3)
        refused = bool(spec.truncate and data)
        self.delivered.append(dict(folder=folder, date=fdate, tree=tree, name=name, rows=good if self.keep_rows else None,
                                   rows_good=len(good), refused=refused, rows_in=len(out_rows)))
        return blob
