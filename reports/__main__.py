"""python -m reports <weekly|monthly|quarterly> --date YYYY-MM-DD [--no-rebuild]

Produces one periodic report for a date against WAREHOUSE_URL (default: the embedded
PostgreSQL `make run` left under var/pg): XLSX under REPORTS_DIR (default var/reports), e-mails in OUTBOX_DIR
(default var/outbox; SMTP when ALERT_SMTP_CONN_ID is set)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os

from core.settings import REPO_ROOT as REPO
from core.settings import Settings
from reports.produce import KINDS, produce


def _local_defaults() -> None:
    """Without WAREHOUSE_URL: the warehouse `make run` left under var/ (started if stopped),
    with its hash key and outbox."""
    if os.environ.get("WAREHOUSE_URL"):
        return
    from local import embedded_pg

    var = REPO / "var"
    os.environ["WAREHOUSE_URL"] = embedded_pg.start(var / "pg")
    key = var / "pii_hash_key"
    if not os.environ.get("PII_HASH_KEY") and key.exists():
        os.environ["PII_HASH_KEY"] = key.read_text().strip()
    os.environ.setdefault("OUTBOX_DIR", str(var / "outbox"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True, help="report date (YYYY-MM-DD)")
    ap.add_argument("--no-rebuild", action="store_true", help="use the report marts as they are")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _local_defaults()
    settings = Settings.from_env(connection_id=None)
    print(json.dumps(produce(a.kind, a.date, settings, rebuild=not a.no_rebuild), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
