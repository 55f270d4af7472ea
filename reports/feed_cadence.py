"""The dbt seed of feed cadences (dbt_project/seeds/feed_cadence.csv), generated from the
`cadence:` and `department:` keys of ingest/feeds/mappings/*.yml. tests/reports checks the
seed is current; `python -m reports.feed_cadence` rewrites it after a mapping changes."""
from __future__ import annotations

import csv
import io

import yaml

from core.settings import REPO_ROOT

SEED = REPO_ROOT / "dbt_project" / "seeds" / "feed_cadence.csv"
CADENCES = ("daily", "weekly", "on_change")


def cadence_rows() -> list[tuple[str, str, str]]:
    from ingest.feeds import FOLDERS
    from ingest.feeds.mapping import MAPPINGS_DIR

    rows = []
    for folder in FOLDERS:
        raw = yaml.safe_load((MAPPINGS_DIR / f"{folder}.yml").read_text(encoding="utf-8"))
        cadence = str(raw.get("cadence", "daily"))
        if cadence not in CADENCES:
            raise ValueError(f"{folder}.yml: cadence {cadence!r} not in {CADENCES}")
        rows.append((folder, str(raw.get("department", folder)), cadence))
    return rows


def seed_text() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["folder", "department", "cadence"])
    w.writerows(cadence_rows())
    return buf.getvalue()


if __name__ == "__main__":
    SEED.write_text(seed_text(), encoding="utf-8")
    print(SEED)
