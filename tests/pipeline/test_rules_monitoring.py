"""Monitoring rules beyond the ground-truth match (test_rules_catalog.py): income thresholds
come from the policy file; the person mart carries no full ID number."""
from __future__ import annotations

import re

import psycopg
import yaml

from core.settings import Settings


def _run_rule(url: str, rule_id: str, run_date) -> set[str]:
    """Render a catalog rule with the policy file POLICY_FILE points at and run its SQL the way
    GX does ({batch} -> the validated table), without touching dq.issue."""
    from expectations import catalog, policy

    rule = next(r for r in catalog.load_rules([rule_id.split("-")[0]]) if r.rule_id == rule_id)
    sql = rule.render_sql(policy.sql_parameters(policy.load_policy(Settings.from_env(connection_id=None).policy_file), run_date)).replace("{batch}", rule.table)
    with psycopg.connect(url) as conn:
        return {str(r[0]) for r in conn.execute(sql)}


def _truth_for_thresholds(province, run_date, thresholds: dict[int, float]) -> dict[str, set[str]]:
    """The generator's own truth for MISS-01 / EXIT-03 under other income thresholds. Both rules
    read only platform records, so no feed rows are needed."""
    from sim.generator import _read_platform, truth
    from sim.generator.policy import merge_policy

    found = truth.compute(_read_platform(province / "platform"), [], run_date, merge_policy({"income_threshold": thresholds}))
    return {rule: {e for r, e in found if r == rule} for rule in ("MISS-01", "EXIT-03")}


def test_income_threshold_comes_from_the_policy_file(pipeline_db, province, truth, run_date, tmp_path, monkeypatch):
    from expectations.policy import DEFAULT_POLICY

    base = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    default = {int(y): float(v) for y, v in base["income_threshold_per_year"].items()}
    # the helper reproduces the ground truth file under the default thresholds
    assert _truth_for_thresholds(province, run_date, default) == {r: truth[r] for r in ("MISS-01", "EXIT-03")}

    raised = {**default, 2025: default[2025] + 2500, 2026: default[2026] + 2500}
    changed = dict(base, income_threshold_per_year=raised)
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("POLICY_FILE", str(policy_file))

    expected = _truth_for_thresholds(province, run_date, raised)
    for rule_id in ("MISS-01", "EXIT-03"):
        assert expected[rule_id] > truth[rule_id], f"raising the threshold adds no {rule_id} case"
        assert _run_rule(pipeline_db, rule_id, run_date) == expected[rule_id], rule_id


def test_dim_person_has_no_full_id_number(pipeline_db):
    """No column carries a phone, health detail or raw ID, and no value contains any person's
    full ID number (raw or normalised); masked numbers keep 6 + 4 characters."""
    with psycopg.connect(pipeline_db) as conn:
        cols = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'dim_person' order by ordinal_position")]
        # any person's ID number (as delivered or normalised) inside any dim_person row
        leaked = conn.execute(
            "select count(*) from marts.dim_person as d join staging.stg_platform__persons as p "
            "on (length(p.id_number) >= 15 and strpos(upper(d::text), p.id_number) > 0) "
            "or (length(btrim(p.id_number_raw)) >= 15 and strpos(d::text, btrim(p.id_number_raw)) > 0)"
        ).fetchone()[0]
        rows = conn.execute("select * from marts.dim_person").fetchall()
    assert cols and rows
    assert [c for c in cols if re.search(r"phone|health|id_number(?!_masked)", c)] == []
    id_like = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")
    values = [v for row in rows for v in row if isinstance(v, str)]
    assert [v for v in values if id_like.search(v)] == []
    assert leaked == 0
    masked_at = cols.index("id_number_masked")
    assert all(row[masked_at] is None or re.fullmatch(r"[0-9A-Z]{6}\*+[0-9A-Z]{4}", row[masked_at]) for row in rows)
