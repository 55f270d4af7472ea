"""python -m reports <weekly|monthly|quarterly> --date YYYY-MM-DD [--no-rebuild]

Produces one periodic report for a date against WAREHOUSE_URL (default: the embedded
PostgreSQL `make run` left under var/pg): XLSX under REPORTS_DIR (default var/reports), e-mails in OUTBOX_DIR
(default var/outbox; SMTP when ALERT_SMTP_CONN_ID is set)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging

from core.settings import VAR, Settings
from reports.produce import KINDS, produce


def _local_settings() -> Settings:
    """The environment's settings; without WAREHOUSE_URL, the warehouse `make run` left under
    var/ (started if stopped), with its hash key (the outbox's default is var/outbox)."""
    settings = Settings.from_env(connection_id=None)
    if settings.warehouse_url:
        return settings
    from local import embedded_pg

    key = VAR / "pii_hash_key"
    return settings.replace(
        warehouse_url=embedded_pg.start(VAR / "pg"),
        pii_hash_key=settings.pii_hash_key or (key.read_text().strip() if key.exists() else None))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True, help="report date (YYYY-MM-DD)")
    ap.add_argument("--no-rebuild", action="store_true", help="use the report marts as they are")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(json.dumps(produce(a.kind, a.date, _local_settings(), rebuild=not a.no_rebuild), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
