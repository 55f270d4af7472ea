"""Run the rule catalog as Great Expectations validations against PostgreSQL.

Each rule is an UnexpectedRowsExpectation (gx_rules.RuleExpectation): its SQL runs in the
database (pushdown), once per day. Rules are grouped into one suite per validated table; one
checkpoint runs them all with result_format COMPLETE, so the validation results carry every
finding, and those are merged into dq.issue.

The context is ephemeral (data source, validation definitions and checkpoint live in memory: no
project file is read or rewritten per rule) with file stores only for what Data Docs render:
the suites and the validation results under gx_project_dir(). Data Docs are built by
build_data_docs(), once per run and off the path to the digests.

A rule runs only when every relation its SQL reads was built today (`unavailable` lists the
ones dbt failed or skipped); a rule whose query fails is reported, not fatal. Rules that did
not run are in the result's `not_run`, and their open issues are left as they were.

GX takes ~15 s to import: it is imported inside the functions, never at DAG parse time.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections import defaultdict
from pathlib import Path

from core import warehouse
from core.schema import ensure_schema
from core.settings import Settings
from expectations import catalog, dq_store, policy

log = logging.getLogger(__name__)
DATASOURCE = "warehouse"
CHECKPOINT = "daily_quality"


def _suite_name(table: str) -> str:
    return "rules__" + table.replace(".", "__")


def _context(gx_dir: Path):
    """Ephemeral context; suites and validation results on disk under `gx_dir`
    (Settings.gx_project_dir)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    stores = FilesystemStoreBackendDefaults(root_directory=str(Path(gx_dir).resolve()))
    # Checkpoints and validation definitions are rebuilt from the catalog every run.
    for store in (stores.checkpoint_store_name, stores.validation_definition_store_name):
        stores.stores[store]["store_backend"] = {"class_name": "InMemoryStoreBackend"}
    config = DataContextConfig(store_backend_defaults=stores, analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def build_data_docs(gx_dir: Path) -> str | None:
    """Render Data Docs from the stored suites and validation results; returns the index URL.

    Once per run, after run_rules (the digests never wait for it)."""
    import expectations.gx_rules  # noqa: F401  registers RuleExpectation for the stored suites

    context = _context(gx_dir)
    sites = context.build_data_docs()
    return next(iter(sites.values()), None)


def _readable(conn, tables) -> set[str]:
    """The tables this login can read (GX would find out table by table while adding assets)."""
    return {r[0] for r in conn.execute(
        "select t from unnest(%s::text[]) t "
        "where to_regclass(t) is not null and has_table_privilege(to_regclass(t), 'select')",
        (sorted(tables),))}


def _build(context, rules_by_table: dict[str, list], url: str, readable: set[str]):
    import great_expectations as gx
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.datasource.fluent.sql_datasource import TableAsset

    from expectations.gx_rules import RuleExpectation

    not_run = []
    for table in sorted(set(rules_by_table) - readable):
        log.error("无法读取 %s（不存在或无查询权限）", table)
        not_run += [{"rule_id": rule.rule_id, "reason": f"无法读取所校验的数据表 {table}"}
                    for rule, _ in rules_by_table[table]]
    tables = sorted(set(rules_by_table) & readable)
    if not tables:
        return None, not_run
    # GX's own config substitution: the URL stays in the environment, GX keeps only the ${...}
    os.environ["GX_WAREHOUSE_URL"] = url
    # All assets given at once: added one by one, GX re-serialises the whole data source after
    # each asset and each batch definition (a fifth of the step at 20,000 households).
    ds = context.data_sources.add_postgres(
        DATASOURCE, connection_string="${GX_WAREHOUSE_URL}",
        assets=[TableAsset(name=table, table_name=table.split(".")[1], schema_name=table.split(".")[0],
                           batch_definitions=[BatchDefinition(name="whole_table")]) for table in tables])
    validations = []
    for table in tables:
        rules = rules_by_table[table]
        batch_def = ds.get_asset(table).get_batch_definition("whole_table")
        # expectations given at construction: add_expectation on a suite writes the store each time
        suite = gx.ExpectationSuite(name=_suite_name(table), expectations=[RuleExpectation(
            unexpected_rows_query=sql,
            description=f"{rule.rule_id}：{rule.title}",
            notes=f"规则 {rule.rule_id}（{catalog.FAMILY_NAMES.get(rule.family, rule.family)}）："
                  f"{rule.title}。对象类型：{rule.entity_type}；严重程度：{rule.severity}。",
            meta={"rule_id": rule.rule_id},
        ) for rule, sql in rules])
        suite = context.suites.add_or_update(suite)
        validations.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=_suite_name(table), data=batch_def, suite=suite)))
    if not validations:
        return None, not_run
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=CHECKPOINT, validation_definitions=validations, actions=[],
        result_format={"result_format": "COMPLETE"}))
    return checkpoint, not_run


def _close_connections(context) -> None:
    """GX keeps a SQLAlchemy pool per data source; close it so no session outlives the run."""
    try:
        context.data_sources.get(DATASOURCE).get_execution_engine().close()
    except Exception as exc:  # noqa: BLE001 closing is best effort: the run's results are already in hand
        log.warning("关闭 GX 数据库连接失败：%s", exc)


def _failure_reason(exception_info) -> str | None:
    """GX records a failed metric query on the expectation's result instead of raising."""
    infos = exception_info.values() if isinstance(exception_info, dict) and \
        "raised_exception" not in exception_info else [exception_info or {}]
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            message = (info.get("exception_message") or "").strip().splitlines()
            return "规则查询执行失败：" + (message[0] if message else "未知错误")
    return None


def _select_rules(rules, params, unavailable):
    """(runnable [(rule, rendered sql)], not_run [{rule_id, reason}])."""
    runnable, not_run = [], []
    for rule in rules:
        missing = sorted(rule.relations & set(unavailable))
        if missing:
            not_run.append({"rule_id": rule.rule_id,
                            "reason": f"所依赖的数据表今日未能生成：{'、'.join(missing)}"})
            continue
        try:
            runnable.append((rule, rule.render_sql(params)))
        except KeyError as exc:
            not_run.append({"rule_id": rule.rule_id, "reason": f"规则参数缺失：{exc}"})
    return runnable, not_run


def run_rules(settings: Settings, run_date: dt.date, families: list[str] | None = None, conn=None,
              unavailable: frozenset[str] | set[str] = frozenset()) -> dict:
    """Validate every rule (or the given families) whose relations were built; merge findings
    into dq.issue for the rules that ran. `settings`: the warehouse, GX project, policy and
    follow-up files."""
    from followup.config import load_config

    rules = catalog.load_rules(families)
    params = policy.sql_parameters(policy.load_policy(settings.policy_file), run_date)
    url = settings.require_warehouse_url()
    own_conn = conn is None
    conn = conn or warehouse.connect(url)
    try:
        ensure_schema(conn, "dq")
        runnable, not_run = _select_rules(rules, params, unavailable)
        run_id = f"{run_date.isoformat()}_{uuid.uuid4().hex[:8]}"
        findings, run_rows, evaluated, success = [], [], [], True
        docs_url = None
        if runnable:
            context = _context(settings.gx_project_dir)
            by_table: dict[str, list] = defaultdict(list)
            for rule, sql in runnable:
                by_table[rule.table].append((rule, sql))
            checkpoint, unreadable = _build(context, by_table, url, _readable(conn, by_table))
            not_run += unreadable
            started = dt.datetime.now(dt.UTC)
            result = checkpoint.run() if checkpoint else None
            finished = dt.datetime.now(dt.UTC)
            docs = context.get_docs_sites_urls(only_if_exists=False)
            docs_url = docs[0]["site_url"] if docs else None
            rules_by_id = {r.rule_id: r for r, _ in runnable}
            _close_connections(context)
            for vr in (result.run_results.values() if result else []):
                suite_name = vr.suite_name
                for er in vr.results:
                    rule = rules_by_id[er.expectation_config.meta["rule_id"]]
                    reason = _failure_reason(er.exception_info)
                    if reason:
                        log.error("%s 未能执行：%s", rule.rule_id, reason)
                        not_run.append({"rule_id": rule.rule_id, "reason": reason})
                        continue
                    rows = er.result["details"]["unexpected_rows"]
                    success = success and er.success
                    evaluated.append(rule.rule_id)
                    for row in rows:
                        if row["entity_id"] is None:   # keep it visible rather than merge under 'None'
                            log.warning("%s 返回了空的对象编号，记为“（空）”：%s", rule.rule_id, row.get("detail"))
                        findings.append((rule.rule_id, rule.severity, rule.entity_type,
                                         "（空）" if row["entity_id"] is None else str(row["entity_id"]),
                                         row.get("county_code"),
                                         row.get("town_code"), row.get("village_code"),
                                         row.get("detail")))
                    run_rows.append(dict(run_id=run_id, run_date=run_date, suite_name=suite_name,  # noqa: C408
                                         rule_id=rule.rule_id, success=not rows,
                                         unexpected_rows=len({r["entity_id"] for r in rows}),
                                         started_at=started, finished_at=finished,
                                         data_docs_url=docs_url))
        merged = dq_store.sync_issues(conn, run_date, evaluated, findings,
                                       due=load_config(settings.followup_config).due)
        dq_store.record_validation_runs(conn, run_rows)
        not_run.sort(key=lambda r: r["rule_id"])
        return {"run_id": run_id, "success": success and not not_run, "rules": len(rules),
                "evaluated": len(evaluated),
                "data_docs_url": docs_url, **merged, "not_run": not_run,
                "open_by_rule": dq_store.open_issue_counts(conn)}
    finally:
        if own_conn:
            conn.close()
