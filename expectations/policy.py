"""Policy parameters from config/policy.yml, rendered as SQL literals for rule queries."""
from __future__ import annotations

from pathlib import Path

from core.settings import CONFIG
from core.yaml_file import read_yaml

DEFAULT_POLICY = CONFIG / "policy.yml"


def load_policy(path: Path = DEFAULT_POLICY) -> dict:
    """config/policy.yml, or the file Settings.policy_file names (POLICY_FILE)."""
    return read_yaml(path)


def _values_table(mapping: dict, value_type: str) -> str:
    rows = ", ".join(f"({int(k)}, {float(v)}::{value_type})" for k, v in mapping.items() if k != "default")
    default = mapping.get("default")
    if default is not None:
        rows = ", ".join(filter(None, [rows, f"(null::int, {float(default)}::{value_type})"]))
    return f"(values {rows})"


def _feed_folders() -> str:
    """(values ('yibao', '医保局'), ...): every landing folder with its department."""
    from ingest.feeds import FOLDERS, load_mapping

    rows = []
    for folder in FOLDERS:
        dept = (load_mapping(folder).department or folder).replace("'", "''")
        rows.append(f"('{folder}', '{dept}')")
    return f"(values {', '.join(rows)})"


def feed_cadences() -> dict[str, str]:
    """Landing folder -> its mapping's `cadence:` (daily / weekly / on_change; default daily)."""
    from ingest.feeds import FOLDERS, load_mapping

    return {folder: load_mapping(folder).cadence for folder in FOLDERS}


def _daily_feed_folders() -> str:
    """(values ('yibao'), ...): the folders whose mapping says `cadence: daily`."""
    rows = [f"('{f}')" for f, c in feed_cadences().items() if c == "daily"]
    return f"(values {', '.join(rows)})"


def sql_parameters(policy: dict, run_date) -> dict[str, str]:
    """@name@ tokens in rule SQL -> SQL literals. ({} would clash with GX's {batch})."""
    return {
        "run_date": f"date '{run_date.isoformat()}'",
        "income_thresholds": _values_table(policy["income_threshold_per_year"], "numeric"),
        "min_industry_shares": _values_table(policy["min_industry_share_per_year"], "numeric"),
        "large_medical_oop_yuan": str(float(policy["large_medical_oop_yuan"])),
        "min_months_before_elimination": str(int(policy["min_months_before_elimination"])),
        "verify_deadline_days": str(int(policy["verify_deadline_days"])),
        "max_households_per_grid": str(int(policy["max_households_per_grid"])),
        "inactive_worker_days": str(int(policy["inactive_worker_days"])),
        "signal_window_months": str(int(policy["signal_window_months"])),
        "developmental_measure_months": str(int(policy["developmental_measure_months"])),
        "stale_source_days": str(int(policy.get("stale_source_days", 2))),
        "feed_folders": _feed_folders(),
        "daily_feed_folders": _daily_feed_folders(),
    }
