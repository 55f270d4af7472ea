"""Shared context: run date, seeded RNGs, Faker, id counters, time formatting."""
from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from faker import Faker

COUNTY = "341225"
COUNTY_NAME = "阜南县"
TZ = "+08:00"


def ts(dt: datetime) -> str:
    """ISO 8601 with the fixed +08:00 offset (the platform's clock is Asia/Shanghai)."""
    return f"{dt:%Y-%m-%dT%H:%M:%S}{TZ}"


def ds(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def add_months(d: date, n: int) -> date:
    """Calendar month arithmetic clamped to month end (same as PostgreSQL date + interval)."""
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def months_back(r: date, n: int) -> date:
    return add_months(r, -n)


@dataclass
class Ctx:
    run_date: date
    seed: int
    households: int
    clean: bool
    policy: dict
    days: int = 5           # daily landing files R-days+1..R; older rows go to one file dated R-days
    county: str = COUNTY    # this county's code and name (a city is generated one county after another)
    county_name: str = COUNTY_NAME
    index: int = 0          # 0: the first county, whose random streams are the single-county ones
    fake: Faker = field(init=False)
    counters: dict = field(default_factory=dict)
    plants: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(self.seed if self.index == 0 else f"{self.seed}:{self.county}")

    def rng(self, name: str) -> random.Random:
        # string seeds are hashed deterministically (not affected by PYTHONHASHSEED)
        return random.Random(f"{self.seed}:{name}" if self.index == 0 else f"{self.seed}:{self.county}:{name}")

    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def day(self, back: int) -> date:
        return self.run_date - timedelta(days=back)

    def plant(self, rule: str, entity: str, note: str = "") -> None:
        self.plants.setdefault(rule, []).append({"entity_id": entity, "note": note})

    def rand_date(self, rng: random.Random, lo: date, hi: date) -> date:
        return lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))

    def updated_at(self, rng: random.Random, lo_back: int = 365) -> str:
        """Mostly spread over the past year; ~8% in the last 5 days (incl. early on the run date)."""
        if rng.random() < 0.08:
            back = rng.randint(0, 4)
            hour = rng.randint(0, 1) if back == 0 else rng.randint(7, 22)
        else:
            back = rng.randint(5, lo_back)
            hour = rng.randint(7, 22)
        return ts(datetime.combine(self.day(back), datetime.min.time()) + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)))
