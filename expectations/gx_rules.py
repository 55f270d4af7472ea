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

import sqlalchemy as sa
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


def batch_sql(selectable, dialect) -> str:
    """What `{batch}` in a rule stands for: the validated table, or the batch's SELECT in
    parentheses, always under the alias batch_rows (PostgreSQL 15 refuses a derived table
    without one). GX's own substitution aliases only queries without a JOIN, by a check it
    keeps private; doing it here keeps every rule's SQL the same whatever GX decides."""
    if isinstance(selectable, sa.sql.expression.TableClause):
        source = dialect.identifier_preparer.format_table(selectable)
    else:
        source = f"({selectable.compile(dialect=dialect, compile_kwargs={'literal_binds': True})})"
    return f"{source} as batch_rows"


class RuleFindingsTable(QueryMetricProvider):
    """Every row of the rule's query (GX's unexpected_rows_query.table keeps only 200)."""

    metric_name = "rule_findings.table"
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, execution_engine: SqlAlchemyExecutionEngine, metric_domain_kwargs: dict,
                    metric_value_kwargs: dict, metrics: dict[str, Any],
                    runtime_configuration: dict) -> list[dict]:
        selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        query = metric_value_kwargs[cls.query_param_name].replace(
            "{batch}", batch_sql(selectable, execution_engine.engine.dialect))
        return [row._asdict() for row in execution_engine.execute_query(sa.text(query)).fetchall()]


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
