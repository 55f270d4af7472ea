"""`make docs`: dbt docs for the demo warehouse into var/dbt_docs (the DAG's dbt_docs task
does the same every day)."""
from __future__ import annotations

import os

from core.settings import run_date_from_env
from local.run import VAR, _pii_hash_key


def main() -> None:
    from local import embedded_pg
    from pipeline import steps

    if not os.environ.get("WAREHOUSE_URL"):
        os.environ["WAREHOUSE_URL"] = embedded_pg.start(VAR / "pg")
    os.environ.setdefault("PII_HASH_KEY", _pii_hash_key())
    os.environ.setdefault("DBT_DOCS_DIR", str(VAR / "dbt_docs"))
    from pipeline.pii import install_hash_key_from_env
    install_hash_key_from_env()
    out = steps.generate_dbt_docs(run_date_from_env())
    print(f"dbt 文档：{out}/index.html")


if __name__ == "__main__":
    main()
