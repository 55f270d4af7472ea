"""The back-check draw: reproducible for a seed, follows its weights (chi-square with a fixed
seed), never draws last week's households; and the weekly draw over the real warehouse."""
import datetime as dt
import random
from collections import Counter

from reports.backcheck import Candidate, draw, stream_seed, weekly_draw


def _pool(papers):
    return [Candidate(f"H{i:03d}", "T1", "V1", f"W{i}", p) for i, p in enumerate(papers)]


def test_same_seed_same_draw_and_different_week_differs():
    pool = _pool([0] * 30 + [2] * 10)
    a = draw(pool, 5, random.Random(stream_seed(7, "T1", dt.date(2026, 11, 30))))
    b = draw(list(reversed(pool)), 5, random.Random(stream_seed(7, "T1", dt.date(2026, 11, 30))))
    c = draw(pool, 5, random.Random(stream_seed(7, "T1", dt.date(2026, 12, 7))))
    assert [x.household_id for x in a] == [x.household_id for x in b]   # input order does not matter
    assert [x.household_id for x in a] != [x.household_id for x in c]
    assert len({x.household_id for x in a}) == 5


def test_single_draw_follows_the_weights():
    """One household per draw: P(i) = w_i / sum(w). 4,000 draws, chi-square, 3 degrees of freedom."""
    pool = _pool([0, 0, 1, 2])            # weights 1, 1, 3, 5
    weights = [c.weight for c in pool]
    n = 4000
    rng = random.Random(12345)
    seen = Counter(draw(pool, 1, rng)[0].household_id for _ in range(n))
    expected = [n * w / sum(weights) for w in weights]
    chi2 = sum((seen[c.household_id] - ex) ** 2 / ex for c, ex in zip(pool, expected))
    assert chi2 < 16.27, (seen, expected)   # p = 0.001
    # and a uniform draw would not fit: the weights matter
    uniform = [n / 4] * 4
    assert sum((seen[c.household_id] - ex) ** 2 / ex for c, ex in zip(pool, uniform)) > 100


def test_workers_with_paper_findings_are_checked_more():
    pool = _pool([0] * 40 + [3] * 10)
    rng = random.Random(99)
    hits = Counter()
    for _ in range(1000):
        for c in draw(pool, 5, rng):
            hits[c.paper_findings > 0] += 1
    # a tenth of households under a flagged worker (weight 7): over half of the picks
    assert hits[True] / sum(hits.values()) > 0.5


def test_excluded_households_never_drawn():
    pool = _pool([0] * 8 + [5] * 2)
    heavy = {"H008", "H009"}
    for s in range(200):
        assert not heavy & {c.household_id for c in draw(pool, 3, random.Random(s), exclude=heavy)}


def test_weekly_draw_over_the_warehouse(db, platform_records):
    """Two consecutive weeks: no household twice; a rerun draws the same; each drawn household's
    weight matches Python over the platform visits and dq.issue."""
    from reportdata import RUN_DATE, latest

    week1 = weekly_draw(db, RUN_DATE, seed=5)
    again = weekly_draw(db, RUN_DATE, seed=5)
    assert {t: [c.household_id for c in cs] for t, cs in week1.items()} == \
           {t: [c.household_id for c in cs] for t, cs in again.items()}
    week2 = weekly_draw(db, RUN_DATE + dt.timedelta(days=7), seed=5)
    assert week1 and all(len(cs) == 5 for cs in week1.values())
    for town in week1:
        assert not {c.household_id for c in week1[town]} & {c.household_id for c in week2[town]}, town

    visits = [v for v in latest(platform_records["visits"], "visit_id") if not v["is_deleted"]]
    last = {}
    for v in sorted(visits, key=lambda v: (v["started_at"][:10], v["visit_id"])):
        last[v["household_id"]] = v["worker_id"]
    worker_of_visit = {v["visit_id"]: v["worker_id"] for v in visits}
    paper = Counter(worker_of_visit.get(eid) for (eid,) in db.execute(
        "select entity_id from dq.issue where rule_id like 'PAPER-%' and status = 'open'"))
    for cs in week1.values():
        for c in cs:
            assert c.worker_id == last.get(c.household_id)
            assert c.weight == 1 + 2 * paper.get(c.worker_id, 0)
