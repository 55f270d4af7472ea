"""Every landing folder declares its cadence, and the dbt seed says what the mappings say."""
from reports.feed_cadence import CADENCES, SEED, cadence_rows, seed_text


def test_seed_matches_the_mappings():
    assert SEED.read_text(encoding="utf-8") == seed_text(), "run: python -m reports.feed_cadence"


def test_department_feeds_are_daily_exports_change_driven():
    cadence = {folder: c for folder, _, c in cadence_rows()}
    assert set(cadence.values()) <= set(CADENCES)
    assert {f for f, c in cadence.items() if c == "daily"} == {
        "yibao", "minzheng", "canlian", "gongan", "jiaoyu", "zhujian", "shuili", "renshe"}


def test_fresh02_reads_the_daily_folders_from_the_mappings():
    import datetime as dt

    from expectations import policy

    params = policy.sql_parameters(policy.load_policy(), dt.date(2026, 11, 30))
    assert params["daily_feed_folders"].count("(") == 1 + 8 and "'yibao'" in params["daily_feed_folders"]
    assert "'fund_payment'" not in params["daily_feed_folders"]
