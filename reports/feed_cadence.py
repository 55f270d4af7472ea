"""The dbt seed of feed cadences (dbt_project/seeds/feed_cadence.csv), generated from the
`cadence:` and `department:` keys of ingest/feeds/mappings/*.yml. tests/reports checks the
seed is current; `python -m reports.feed_cadence` rewrites it after a mapping changes."""
from __future__ import annotations

import csv
import io

from core.settings import REPO_ROOT
from ingest.feeds.mapping import CADENCES

SEED = REPO_ROOT / "dbt_project" / "seeds" / "feed_cadence.csv"
__all__ = ["CADENCES", "SEED", "cadence_rows", "seed_text"]


def cadence_rows() -> list[tuple[str, str, str]]:
    """(folder, department, cadence) of every daily landing folder; load_mapping checks the
    cadence is one of CADENCES."""
    from ingest.feeds import FOLDERS, load_mapping

    return [(folder, (m := load_mapping(folder)).department, m.cadence) for folder in FOLDERS]


def seed_text() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["folder", "department", "cadence"])
    w.writerows(cadence_rows())
    return buf.getvalue()


if __name__ == "__main__":
    SEED.write_text(seed_text(), encoding="utf-8")
    print(SEED)
