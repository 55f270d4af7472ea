"""`make docs`: dbt docs for the demo warehouse into var/dbt_docs (the DAG's dbt_docs task
does the same every day)."""
from __future__ import annotations

import os

from core.settings import Settings
from local.run import VAR, _pii_hash_key


def main() -> None:
    from local import embedded_pg
    from pipeline import steps

    if not os.environ.get("WAREHOUSE_URL"):
        os.environ["WAREHOUSE_URL"] = embedded_pg.start(VAR / "pg")
    os.environ.setdefault("PII_HASH_KEY", _pii_hash_key())
    os.environ.setdefault("DBT_DOCS_DIR", str(VAR / "dbt_docs"))
    settings = Settings.from_env(connection_id=None)
    from pipeline.pii import install_configured_hash_key
    install_configured_hash_key(settings)
    out = steps.generate_dbt_docs(settings, settings.day())
    print(f"dbt 文档：{out}/index.html")


if __name__ == "__main__":
    main()
