"""`make docs`: dbt docs for the demo warehouse into var/dbt_docs (the DAG's dbt_docs task
does the same every day)."""
from __future__ import annotations

from core.settings import Settings
from local.run import VAR, _pii_hash_key


def main() -> None:
    from local import embedded_pg
    from pipeline import steps
    from pipeline.pii import install_configured_hash_key

    settings = Settings.from_env(connection_id=None)
    settings = settings.replace(
        warehouse_url=settings.warehouse_url or embedded_pg.start(VAR / "pg"),
        pii_hash_key=settings.pii_hash_key or _pii_hash_key(),
        dbt_docs_dir=VAR / "dbt_docs" if settings.dbt_docs_dir == Settings().dbt_docs_dir else settings.dbt_docs_dir)
    install_configured_hash_key(settings)
    out = steps.generate_dbt_docs(settings, settings.day())
    print(f"dbt 文档：{out}/index.html")


if __name__ == "__main__":
    main()
