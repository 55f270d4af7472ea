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



def live(records: dict, resource: str, key: str) -> list[dict]:
    return [r for r in latest(records[resource], key) if not r["is_deleted"]]


def months_back(run_date: dt.date, n: int = 6) -> list[tuple[dt.date, dt.date]]:
    """(first day, last day capped at run_date) of the n months up to run_date's month."""
    out = []
    y, m = run_date.year, run_date.month
    for _ in range(n):
        start = dt.date(y, m, 1)
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append((start, min(nxt - dt.timedelta(days=1), run_date)))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def quarters_back(run_date: dt.date, n: int = 4) -> list[tuple[dt.date, dt.date]]:
    out = []
    y, q = run_date.year, (run_date.month - 1) // 3
    for _ in range(n):
        start = dt.date(y, 3 * q + 1, 1)
        nxt = dt.date(y + (q == 3), (3 * q + 3) % 12 + 1, 1)
        out.append((start, min(nxt - dt.timedelta(days=1), run_date)))
        y, q = (y - 1, 3) if q == 0 else (y, q - 1)
    return out[::-1]


def d(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s[:10]) if s else None


def local_date(ts: str) -> dt.date:
    return dt.datetime.fromisoformat(ts).astimezone(dt.timezone(dt.timedelta(hours=8))).date()


def median(values: list[float]) -> float | None:
    v = sorted(values)
    if not v:
        return None
    mid = len(v) // 2
    return float(v[mid]) if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
