"""The rule catalog: one YAML per rule family under expectations/rules/, each rule with its
ID, entity, severity, a plain Chinese sentence, the table it validates and its SQL."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.yaml_file import read_yaml

RULES_DIR = Path(__file__).resolve().parent / "rules"
FAMILY_NAMES = {
    "PAPER": "纸面排查", "GRID": "网格履职", "MISS": "应纳未纳", "EXIT": "风险消除",
    "CONS": "帮扶精准", "ID": "身份信息", "FUND": "衔接资金", "SALE": "消费帮扶",
    "FRESH": "数据时效",
}
_TOKEN = re.compile(r"@([a-z_]+)@")
# schema.table names a rule reads (a name followed by "(" is a function such as dq.distance_km)
_RELATION = re.compile(r"\b((?:raw|staging|intermediate|marts|snapshots|dq)\.\w+)\b(?!\s*\()")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    entity_type: str
    severity: str
    title: str          # one plain sentence a supervisor understands
    table: str          # schema.table the GX batch reads; @batch@ in sql
    sql: str            # returns entity_id, county_code, town_code, village_code, detail

    @property
    def family(self) -> str:
        return self.rule_id.split("-")[0]

    @property
    def relations(self) -> frozenset[str]:
        """Every schema.table this rule reads: its batch table and those its SQL names."""
        return frozenset({self.table, *_RELATION.findall(self.sql)})

    def render_sql(self, params: dict[str, str]) -> str:
        """Policy tokens -> SQL literals; @batch@ -> GX's {batch} (the validated table, aliased
        by expectations.gx_rules)."""
        def sub(m: re.Match) -> str:
            if m.group(1) == "batch":
                return "{batch}"
            if m.group(1) not in params:
                raise KeyError(f"{self.rule_id}: unknown parameter @{m.group(1)}@")
            return params[m.group(1)]
        return _TOKEN.sub(sub, self.sql)


def load_rules(families: list[str] | None = None) -> list[Rule]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for item in read_yaml(path)["rules"]:
            rule = Rule(rule_id=item["id"], entity_type=item["entity"], severity=item["severity"],
                        title=item["title"], table=item["table"], sql=item["sql"].strip())
            if families is None or rule.family in families:
                rules.append(rule)
    ids = [r.rule_id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate rule ids in {RULES_DIR}")
    return rules
