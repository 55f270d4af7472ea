"""Run the rule catalog as Great Expectations validations against PostgreSQL.

Each rule is an UnexpectedRowsExpectation: its SQL runs in the database (pushdown). Rules are
grouped into one suite per validated table; one checkpoint runs them all and rebuilds Data
Docs. GX keeps only a sample of failing rows in its results, so every finding is fetched with
ValidationDefinition.get_unexpected_rows() and merged into dq.issue.

GX takes ~15 s to import: it is imported inside the functions, never at DAG parse time.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections import defaultdict
from pathlib import Path

from expectations import catalog, dq_store, policy
from ingest import warehouse

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent
DATASOURCE = "warehouse"
CHECKPOINT = "daily_quality"


def gx_project_dir() -> Path:
    return Path(os.environ.get("GX_PROJECT_DIR", REPO / "var" / "gx"))


def _suite_name(table: str) -> str:
    return "rules__" + table.replace(".", "__")


def _build(context, rules_by_table: dict[str, list], params: dict[str, str]):
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    # The URL stays in the environment: GX stores only the ${...} reference on disk.
    os.environ["GX_WAREHOUSE_URL"] = warehouse.warehouse_url()
    ds = context.data_sources.add_or_update_postgres(DATASOURCE, connection_string="${GX_WAREHOUSE_URL}")
    validations, expectations = [], {}
    for table, rules in sorted(rules_by_table.items()):
        schema, name = table.split(".")
        asset = ds.add_table_asset(name=table, table_name=name, schema_name=schema)
        batch_def = asset.add_batch_definition_whole_table("whole_table")
        suite = gx.ExpectationSuite(name=_suite_name(table))
        for rule in rules:
            exp = gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=rule.render_sql(params),
                description=f"{rule.rule_id}：{rule.title}",
                notes=f"规则 {rule.rule_id}（{catalog.FAMILY_NAMES.get(rule.family, rule.family)}）："
                      f"{rule.title}。对象类型：{rule.entity_type}；严重程度：{rule.severity}。",
                meta={"rule_id": rule.rule_id},
            )
            suite.add_expectation(exp)
            expectations[rule.rule_id] = exp
        suite = context.suites.add_or_update(suite)
        vd = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=_suite_name(table), data=batch_def, suite=suite))
        validations.append(vd)
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=CHECKPOINT, validation_definitions=validations,
        actions=[UpdateDataDocsAction(name="update_data_docs")]))
    return checkpoint, validations


def _quiet(context) -> None:
    """No progress bars in task logs."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.save()


def run_rules(run_date: dt.date, families: list[str] | None = None, conn=None) -> dict:
    """Validate every rule (or the given families), merge findings into dq.issue."""
    import great_expectations as gx

    rules = catalog.load_rules(families)
    params = policy.sql_parameters(policy.load_policy(), run_date)
    own_conn = conn is None
    conn = conn or warehouse.connect()
    try:
        dq_store.ensure_dq_schema(conn)
        context = gx.get_context(mode="file", project_root_dir=str(gx_project_dir()))
        _quiet(context)
        # Rebuild assets from the catalog each run: a changed rule replaces the old one.
        try:
            context.data_sources.delete(DATASOURCE)
        except Exception:  # first run: nothing to delete
            pass
        by_table: dict[str, list] = defaultdict(list)
        for rule in rules:
            by_table[rule.table].append(rule)
        checkpoint, validations = _build(context, by_table, params)
        started = dt.datetime.now(dt.timezone.utc)
        result = checkpoint.run()
        finished = dt.datetime.now(dt.timezone.utc)
        docs = context.get_docs_sites_urls()
        docs_url = docs[0]["site_url"] if docs else None

        rules_by_id = {r.rule_id: r for r in rules}
        findings, run_rows = [], []
        run_id = f"{run_date.isoformat()}_{uuid.uuid4().hex[:8]}"
        for vd in validations:
            for exp in vd.suite.expectations:
                rule = rules_by_id[exp.meta["rule_id"]]
                rows = vd.get_unexpected_rows(exp)
                for row in rows:
                    if row["entity_id"] is None:   # keep it visible rather than merge under 'None'
                        log.warning("%s 返回了空的对象编号，记为“（空）”：%s", rule.rule_id, row.get("detail"))
                    findings.append((rule.rule_id, rule.severity, rule.entity_type,
                                     "（空）" if row["entity_id"] is None else str(row["entity_id"]),
                                     row.get("county_code"),
                                     row.get("town_code"), row.get("village_code"),
                                     row.get("detail")))
                run_rows.append(dict(run_id=run_id, run_date=run_date, suite_name=vd.suite.name,
                                     rule_id=rule.rule_id, success=not rows,
                                     unexpected_rows=len({r["entity_id"] for r in rows}),
                                     started_at=started, finished_at=finished,
                                     data_docs_url=docs_url))
        merged = dq_store.sync_issues(conn, run_date, list(rules_by_id), findings)
        dq_store.record_validation_runs(conn, run_rows)
        return {"run_id": run_id, "success": bool(result.success), "rules": len(rules),
                "data_docs_url": docs_url, **merged,
                "open_by_rule": dq_store.open_issue_counts(conn)}
    finally:
        if own_conn:
            conn.close()
