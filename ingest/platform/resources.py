"""The platform's resources and each one's record key: the one place that says so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    name: str
    key: tuple[str, ...]  # fields that identify a record; composite keys join with ':'

    @property
    def table(self) -> str:
        return f"raw.platform_{self.name}"

    def record_id(self, item: dict[str, Any]) -> str:
        """The record key as text; raises MissingKey (Chinese message) if unusable."""
        parts = []
        for name in self.key:
            value = item.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise MissingKey(f"缺少主键 {name}")
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise MissingKey(f"主键 {name} 不是字符串或整数：{value!r}")
            parts.append(str(value).strip())
        return ":".join(parts)

    def record_id_sql(self, payload: str = "payload") -> str:
        """The same key as a SQL expression over the raw payload (for staging models)."""
        return " || ':' || ".join(f"({payload}->>'{k}')" for k in self.key)


class MissingKey(ValueError):
    pass


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("regions", ("code",)),
        Resource("households", ("household_id",)),
        Resource("persons", ("person_id",)),
        Resource("monitoring_cases", ("case_id",)),
        Resource("incomes", ("household_id", "year")),
        Resource("guarantees", ("household_id",)),
        Resource("assistance_measures", ("measure_id",)),
        Resource("grids", ("grid_id",)),
        Resource("grid_workers", ("worker_id",)),
        Resource("visits", ("visit_id",)),
        Resource("alerts", ("alert_id",)),
    )
}


def get_resource(name: str) -> Resource:
    try:
        return RESOURCES[name]
    except KeyError:
        raise KeyError(f"未知的平台资源：{name}（可用：{', '.join(RESOURCES)}）") from None
