"""Deadlines and escalation periods (config/followup.yml, or Settings.followup_config)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from core.settings import CONFIG
from core.yaml_file import read_yaml

DEFAULT_DAYS = {"high": 7, "medium": 15, "low": 30}
DEFAULT_CONFIG = CONFIG / "followup.yml"


@dataclass(frozen=True)
class Periods:
    """Days per rule (first) or severity; a severity the file does not name gets the longest."""
    severity: dict[str, int]
    rules: dict[str, int]

    def days(self, rule_id: str, severity: str) -> int:
        if rule_id in self.rules:
            return self.rules[rule_id]
        return self.severity.get(severity, max(self.severity.values(), default=30))


@dataclass(frozen=True)
class FollowupConfig:
    due: Periods
    county_after: Periods


def _periods(raw: dict | None, where: str, path: str) -> Periods:
    raw = raw or {}
    out = {}
    for part in ("severity", "rules"):
        values = {str(k): v for k, v in (raw.get(part) or {}).items()}
        for k, v in values.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{path}：{where}.{part}.{k} 必须是不小于 0 的整数天数，收到 {v!r}")
        out[part] = values
    return Periods(severity=out["severity"] or dict(DEFAULT_DAYS), rules=out["rules"])


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> FollowupConfig:
    data = read_yaml(path) or {}
    return FollowupConfig(
        due=_periods(data.get("due_days"), "due_days", path),
        county_after=_periods((data.get("escalation") or {}).get("county_after_overdue_days"),
                              "escalation.county_after_overdue_days", path))


def load_config(path: Path = DEFAULT_CONFIG) -> FollowupConfig:
    p = Path(path)
    if not p.exists():
        return FollowupConfig(Periods(dict(DEFAULT_DAYS), {}), Periods(dict(DEFAULT_DAYS), {}))
    return _load(str(p), p.stat().st_mtime)
