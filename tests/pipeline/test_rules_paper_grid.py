"""PAPER-01..08 and GRID-01..05 find exactly the violations the ground truth lists,
and nothing on a clean province."""
import pytest

RULES = [f"PAPER-0{i}" for i in range(1, 9)] + [f"GRID-0{i}" for i in range(1, 6)]


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
