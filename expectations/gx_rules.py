"""The GX pieces the rule catalog runs on: an UnexpectedRowsExpectation whose query runs once.

GX's own UnexpectedRowsExpectation asks for two metrics per rule (the rows, capped at 200, and
a COUNT(*) around the same query), and the full list then needs get_unexpected_rows(), a third
run. Its docstring invites overriding `_validate`; here the expectation depends on one metric
that fetches every row, and the count is taken from those rows. With result_format COMPLETE the
validation result carries every finding, so the merge into dq.issue reads it from there.

Importing this module imports GX (~15 s): import it inside functions, never at DAG parse time.
"""
from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.core.unexpected_rows_expectation import (
    UnexpectedRowsExpectation,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import (
    QueryMetricProvider,
)


class RuleFindingsTable(QueryMetricProvider):
    """Every row of the rule's query (GX's unexpected_rows_query.table keeps only 200)."""

    metric_name = "rule_findings.table"
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, execution_engine: SqlAlchemyExecutionEngine, metric_domain_kwargs: dict,
                    metric_value_kwargs: dict, metrics: dict[str, Any],
                    runtime_configuration: dict) -> list[dict]:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch_selectable, execution_engine=execution_engine)
        return cls._get_sqlalchemy_records_from_substituted_batch_subquery(
            substituted_batch_subquery=query, execution_engine=execution_engine, fetch_all=True)


class RuleExpectation(UnexpectedRowsExpectation):
    """A catalog rule: fails when its query returns rows; the query runs once per validation."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("rule_findings.table",)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine=None) -> dict:
        fmt = self._get_result_format(runtime_configuration=runtime_configuration)
        fmt = fmt.get("result_format", ResultFormat.SUMMARY) if isinstance(fmt, dict) else fmt
        rows = metrics["rule_findings.table"]
        if fmt == ResultFormat.BOOLEAN_ONLY:
            return {"success": not rows}
        result: dict[str, Any] = {"observed_value": len(rows)}
        if fmt == ResultFormat.COMPLETE:
            result["details"] = {"unexpected_rows": rows}
        return {"success": not rows, "result": result}
