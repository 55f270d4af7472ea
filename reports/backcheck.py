"""Back-check draw (抽查): each week, per town, a reproducible weighted random sample of
households for the town supervisor to re-visit.

- Reproducible: the random stream is seeded from (seed, town, week start) only.
- Weighted: a household weighs 1, plus PAPER_WEIGHT for each open PAPER finding of the grid
  worker who last visited it (a worker whose visits look made up gets checked more).
- Never the same household two weeks running: last week's drawn households are excluded.
- The sample is drawn without replacement by Efraimidis–Spirakis keys (u ** (1 / w)): with
  one household to draw, each is chosen with probability w / sum(w).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from core.schema import ensure_schema
from reports.common import rows

PAPER_WEIGHT = 2.0
SAMPLE_PER_TOWN = 5
DEFAULT_SEED = 20261130


@dataclass(frozen=True)
class Candidate:
    household_id: str
    town_code: str
    village_code: str
    worker_id: str | None
    paper_findings: int

    @property
    def weight(self) -> float:
        return 1.0 + PAPER_WEIGHT * self.paper_findings


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def stream_seed(seed: int, town_code: str, week: dt.date) -> int:
    digest = hashlib.sha256(f"{seed}:{town_code}:{week.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw(candidates: list[Candidate], k: int, rng: random.Random, exclude: set[str] = frozenset()) -> list[Candidate]:
    """k households without replacement, probability growing with weight; `exclude` never drawn."""
    pool = sorted((c for c in candidates if c.household_id not in exclude), key=lambda c: c.household_id)
    keyed = [(rng.random() ** (1.0 / c.weight), c) for c in pool]
    keyed.sort(key=lambda kc: kc[0], reverse=True)
    return [c for _, c in keyed[:k]]


def candidates(conn, town_code: str | None = None) -> list[Candidate]:
    """Live households with their last visit's worker and that worker's open PAPER findings."""
    return [Candidate(**r) for r in rows(conn, """
        with last_visit as (
            select distinct on (household_id) household_id, worker_id
            from marts.fct_visit order by household_id, visit_date desc, visit_id desc
        ),
        paper as (
            select v.worker_id, count(*) as n
            from dq.issue as i join marts.fct_visit as v on v.visit_id = i.entity_id
            where i.rule_id like 'PAPER-%%' and i.entity_type = 'visit' and i.status = 'open'
            group by v.worker_id
        )
        select h.household_id, h.town_code, h.village_code, lv.worker_id,
               coalesce(p.n, 0)::int as paper_findings
        from marts.dim_household as h
        left join last_visit as lv using (household_id)
        left join paper as p using (worker_id)
        where (%(town)s::text is null or h.town_code = %(town)s)
        order by h.household_id""", {"town": town_code})]


def previous_draw(conn, town_code: str, week: dt.date) -> set[str]:
    return {r["household_id"] for r in rows(conn,
        "select household_id from reports.backcheck_draw where town_code = %s and week_start = %s",
        (town_code, week - dt.timedelta(days=7)))}


def weekly_draw(conn, run_date: dt.date, seed: int = DEFAULT_SEED, k: int = SAMPLE_PER_TOWN) -> dict[str, list[Candidate]]:
    """The week's draw per town, stored in reports.backcheck_draw; a rerun for the same week
    replaces that week's rows with the same households (same seed, same exclusions)."""
    ensure_schema(conn, "reports")
    week = week_start(run_date)
    by_town: dict[str, list[Candidate]] = {}
    for c in candidates(conn):
        by_town.setdefault(c.town_code, []).append(c)
    out = {}
    for town, pool in sorted(by_town.items()):
        s = stream_seed(seed, town, week)
        chosen = draw(pool, k, random.Random(s), previous_draw(conn, town, week))
        conn.execute("delete from reports.backcheck_draw where week_start = %s and town_code = %s", (week, town))
        for c in chosen:
            conn.execute("insert into reports.backcheck_draw values (%s, %s, %s, %s, %s, %s)",
                         (week, town, c.household_id, c.worker_id, c.weight, s % (2 ** 63)))
        out[town] = chosen
    conn.commit()
    return out
