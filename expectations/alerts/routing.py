"""Routing file: region code -> supervisors; unknown regions go to the fallback (with a warning)."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


@dataclass(frozen=True)
class Routing:
    regions: dict[str, list[Recipient]]
    fallback: Recipient
    engineers: list[Recipient]
    sender: Recipient

    def for_county(self, county_code: str | None) -> tuple[list[Recipient], bool]:
        """Recipients for a county and whether the fallback was used."""
        found = self.regions.get(county_code or "")
        if found:
            return found, False
        log.warning("区划 %s 在路由文件中没有收件人，改发兜底收件人 %s", county_code, self.fallback.email)
        return [self.fallback], True


def routing_path() -> Path:
    return Path(os.environ.get("ALERT_ROUTING_FILE", REPO / "config" / "routing.yml"))


def load_routing(path: Path | None = None) -> Routing:
    data = yaml.safe_load(Path(path or routing_path()).read_text(encoding="utf-8"))
    rec = lambda d: Recipient(name=d["name"], email=d["email"])  # noqa: E731
    return Routing(
        regions={str(k): [rec(r) for r in v] for k, v in (data.get("regions") or {}).items()},
        fallback=rec(data["fallback"]),
        engineers=[rec(r) for r in data.get("engineers") or []],
        sender=rec(data.get("sender") or data["fallback"]),
    )
