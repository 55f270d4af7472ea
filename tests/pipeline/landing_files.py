"""Read the fund and consumption landing files straight from disk, independently of the loader,
so mart totals can be reconciled with what was delivered.

Honours what the loader does: files dated after the run date are not loaded; the rows the
generator lists in expected_rejects.csv are unreadable and count nowhere; a redelivered day
replaces the landing file (the pipeline fixture copies redeliveries over `landing/`)."""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path


def expected_rejects(province: Path) -> set[tuple[str, int]]:
    with open(province / "expected_rejects.csv", encoding="utf-8") as fh:
        return {(r["file"], int(r["line_no"])) for r in csv.DictReader(fh)}


def csv_rows(province: Path, folder: str, run_date: dt.date, encoding: str):
    """(file name, line number, row dict) for every readable row of a CSV landing folder."""
    rejects = expected_rejects(province)
    for path in sorted((province / "landing" / folder).glob(f"{folder}_*.csv")):
        day = dt.datetime.strptime(path.stem.rsplit("_", 1)[1], "%Y%m%d").date()
        if day > run_date:
            continue
        with open(path, encoding=encoding, newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                if (path.name, line) not in rejects:
                    yield path.name, line, row


def parse_yuan(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("元", "").strip())


def parse_date(text: str) -> dt.date:
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        return dt.datetime.strptime(text, "%Y%m%d").date()
    y, m, d = re.split(r"[-/]", text)
    return dt.date(int(y), int(m), int(d))


def column(row: dict, prefix: str) -> str:
    """The value of the column whose header starts with prefix (headers carry code lists)."""
    return next(v for k, v in row.items() if k.startswith(prefix))


def payments_per_project(province: Path, run_date: dt.date) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for _f, _l, row in csv_rows(province, "fund_payment", run_date, "gb18030"):
        paid[column(row, "项目库编号").strip()] += parse_yuan(column(row, "支付金额"))
    return dict(paid)


def payment_rows(province: Path, run_date: dt.date) -> list[tuple[str, dt.date, Decimal]]:
    return [(column(r, "项目库编号").strip(), parse_date(column(r, "支付日期")), parse_yuan(column(r, "支付金额")))
            for _f, _l, r in csv_rows(province, "fund_payment", run_date, "gb18030")]


def sales(province: Path, run_date: dt.date) -> list[dict]:
    """One dict per readable sale row: order_no, cert_no, channel, sold_on, amount."""
    return [dict(order_no=column(r, "销售单号").strip(), cert_no=column(r, "认定编号").strip(),
                 channel=column(r, "销售渠道").strip(), sold_on=parse_date(column(r, "销售日期")),
                 amount=parse_yuan(column(r, "金额")))
            for _f, _l, r in csv_rows(province, "consumption_sale", run_date, "utf-8")]
