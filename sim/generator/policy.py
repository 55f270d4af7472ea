"""Policy defaults (mirror config/policy.yml; kept here so the generator imports nothing from production)."""
from __future__ import annotations

DEFAULT_POLICY: dict = {
    "income_threshold": {2024: 6000, 2025: 6300, 2026: 6600},
    "min_industry_share": 0.50,
    "large_medical_oop": 20000,
    "min_months_before_elimination": 6,
    "alert_verify_days": 15,
    "max_households_per_grid": 100,
    "inactive_worker_days": 30,
}


def merge_policy(override: dict | None) -> dict:
    pol = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_POLICY.items()}
    for k, v in (override or {}).items():
        if k == "income_threshold":
            pol[k] = {int(y): v2 for y, v2 in v.items()}
        else:
            pol[k] = v
    return pol
