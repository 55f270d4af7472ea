"""Shared by the report tests: the province's parameters and Python readings of its records."""
from __future__ import annotations

import datetime as dt

RUN_DATE = dt.date(2026, 11, 30)     # a Monday: the weekly screening's day
HOUSEHOLDS = 300
DAYS = 120


def latest(records: list[dict], key: str) -> list[dict]:
    """The platform's latest version of each record (staging keeps the same)."""
    out: dict[str, dict] = {}
    for r in records:
        k = r[key]
        if k not in out or r["updated_at"] >= out[k]["updated_at"]:
            out[k] = r
    return list(out.values())

