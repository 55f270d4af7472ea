"""Routing file: region code -> supervisors; unknown regions go to the fallback (with a warning).

`regions` keys are 6-digit county codes (the county view: every issue in the county) or 9-digit
town codes (a town with its own supervisor gets a digest of its own town). A value is a list of
recipients, or a mapping `{always_send: bool, recipients: [...]}`. Each recipient gets exactly
one digest per run covering every region they are named for.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


@dataclass
class Audience:
    """One recipient and everything they should see in one digest."""
    recipient: Recipient
    counties: set[str] = field(default_factory=set)
    towns: set[str] = field(default_factory=set)
    unrouted: bool = False          # the fallback: every issue whose county has no entry
    always_send: bool = False

    @property
    def key(self) -> str:
        return f"recipient:{self.recipient.email.lower()}"

    def covers(self, issue: dict, routed_counties: set[str]) -> bool:
        county = issue.get("county_code") or ""
        return (county in self.counties or (issue.get("town_code") or "") in self.towns
                or (self.unrouted and county not in routed_counties))


@dataclass(frozen=True)
class Routing:
    regions: dict[str, list[Recipient]]
    fallback: Recipient
    engineers: list[Recipient]
    sender: Recipient
    always_send: bool = False
    region_always_send: dict[str, bool] = field(default_factory=dict)

    @property
    def counties(self) -> set[str]:
        """Counties someone receives; an entry without recipients does not count."""
        return {c for c, people in self.regions.items() if len(c) == 6 and people}

    def for_county(self, county_code: str | None) -> tuple[list[Recipient], bool]:
        """Recipients for a county and whether the fallback was used."""
        found = self.regions.get(county_code or "")
        if found:
            return found, False
        log.warning("区划 %s 在路由文件中没有收件人，改发兜底收件人 %s", county_code, self.fallback.email)
        return [self.fallback], True

    def audiences(self, issues: list[dict]) -> list[Audience]:
        """One audience per recipient address. Counties with issues but no entry go to the
        fallback, with a warning naming them: an alert is never dropped silently."""
        by_email: dict[str, Audience] = {}

        def get(r: Recipient) -> Audience:
            a = by_email.setdefault(r.email.lower(), Audience(r))
            return a

        for code, people in self.regions.items():
            for r in people:
                a = get(r)
                (a.counties if len(code) == 6 else a.towns).add(code)
                a.always_send |= self.region_always_send.get(code, self.always_send)
        fb = get(self.fallback)
        fb.unrouted = True
        fb.always_send |= self.always_send
        unrouted = sorted({i.get("county_code") or "" for i in issues} - self.counties)
        for county in unrouted:
            n = sum(1 for i in issues if (i.get("county_code") or "") == county)
            log.warning("区划 %s 在路由文件中没有县级收件人，其 %s 条问题改发兜底收件人 %s",
                        county or "（无区划）", n, self.fallback.email)
        return list(by_email.values())

    def unrouted_counties(self, issues: list[dict]) -> list[str]:
        return sorted({i.get("county_code") or "" for i in issues} - self.counties)


def routing_path() -> Path:
    return Path(os.environ.get("ALERT_ROUTING_FILE", REPO / "config" / "routing.yml"))


def load_routing(path: Path | None = None) -> Routing:
    data = yaml.safe_load(Path(path or routing_path()).read_text(encoding="utf-8"))
    rec = lambda d: Recipient(name=str(d["name"]), email=str(d["email"]).strip())  # noqa: E731
    regions, flags = {}, {}
    for code, value in (data.get("regions") or {}).items():
        code = str(code).strip()
        if len(code) not in (6, 9) or not code.isdigit():
            raise ValueError(f"路由文件中的区划代码必须是 6 位（县）或 9 位（乡镇）数字：{code!r}")
        if isinstance(value, dict):
            if "always_send" in value:
                flags[code] = bool(value["always_send"])
            value = value.get("recipients") or []
        regions[code] = [rec(r) for r in value or []]
        if not regions[code]:
            log.warning("路由文件中区划 %s 没有收件人，其问题将发给兜底收件人", code)
    return Routing(
        regions=regions,
        fallback=rec(data["fallback"]),
        engineers=[rec(r) for r in data.get("engineers") or []],
        sender=rec(data.get("sender") or data["fallback"]),
        always_send=bool(data.get("always_send", False)),
        region_always_send=flags,
    )
