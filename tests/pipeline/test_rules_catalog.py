"""Every rule in the catalog finds exactly the violations the ground truth lists on the
planted province (no misses, no extras), and nothing on a clean province."""
import pytest

from expectations.catalog import load_rules

RULES = [r.rule_id for r in load_rules()]


def test_catalog_covers_every_domain_rule():
    families = {"PAPER": 8, "GRID": 5, "MISS": 7, "EXIT": 4, "CONS": 3, "ID": 4, "FUND": 4,
                "SALE": 3, "FRESH": 2}
    expected = {f"{f}-{i:02d}" for f, n in families.items() for i in range(1, n + 1)}
    assert set(RULES) == expected


@pytest.mark.parametrize("rule_id", RULES)
def test_rule_matches_ground_truth(open_issues, truth, rule_id):
    expected = truth.get(rule_id, set())
    assert expected, f"the synthetic province plants no {rule_id} violation"
    found = open_issues(rule_id)
    assert found - expected == set(), f"{rule_id} extras"
    assert expected - found == set(), f"{rule_id} misses"


@pytest.mark.parametrize("rule_id", RULES)
def test_clean_province_raises_nothing(clean_open_issues, rule_id):
    assert clean_open_issues(rule_id) == set()
