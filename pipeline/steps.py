"""The daily pipeline's steps. DAG tasks call these; so do tests and `make run`."""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.settings import Settings, connection_url  # noqa: F401  (connection_url: the Airflow form)

log = logging.getLogger(__name__)


# The DAG file imports this module at parse time: the warehouse driver loads lazily.
def _connect(settings: Settings):
    from core import warehouse

    return warehouse.connect(settings.require_warehouse_url())


def resolve_run_date(param: str | None, logical_or_run_after) -> str:
    """The run's date: an explicit `run_date` param (YYYY-MM-DD, checked) or the run's logical
    date (or, for runs without one, its run_after) in Asia/Shanghai."""
    if param:
        try:
            return dt.datetime.strptime(str(param), "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise ValueError(f"参数 run_date 必须是 YYYY-MM-DD 格式的日期，收到 {param!r}") from None
    import pendulum

    return pendulum.instance(logical_or_run_after).in_timezone("Asia/Shanghai").date().isoformat()


def ingest_platform(settings: Settings, run_date: dt.date) -> dict:
    """Pull every resource. A resource that fails is reported (its batch is 'failed') but does
    not stop the day: rules and digests still run, FRESH-01 sees the gap, and close_day
    fails the run at the end so the engineers hear of it."""
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import PlatformLoadError, load_all

    s = settings
    if not (s.platform_base_url and s.platform_client_id and s.platform_client_secret):
        raise RuntimeError("平台接口未配置：请设置 PLATFORM_BASE_URL / PLATFORM_CLIENT_ID / PLATFORM_CLIENT_SECRET")
    client = PlatformClient(s.platform_base_url, s.platform_client_id, s.platform_client_secret)
    with _connect(s) as conn:
        later = _later_platform_run(conn, run_date)
        if later:   # the platform only serves its current state: it is not this date's state
            log.warning("运行日期 %s 早于已拉取的 %s：补跑不拉取平台当前数据", run_date, later)
            return {"loaded": {}, "rejected": {}, "failed": {}, "skipped": f"补跑：平台数据已拉取至 {later}"}
        try:
            summaries, failures = load_all(conn, client, run_date), {}
        except PlatformLoadError as exc:
            log.error("%s", exc)
            summaries, failures = exc.summaries, exc.failures
    # XCom gets plain JSON: counts per resource, failures by name
    return {"loaded": {x["resource"]: x["rows_loaded"] for x in summaries},
            "rejected": {x["resource"]: x["rows_rejected"] for x in summaries if x["rows_rejected"]},
            "failed": failures}


def _later_platform_run(conn, run_date: dt.date) -> dt.date | None:
    from core.warehouse import has_table

    if not has_table(conn, "raw.load_batch"):
        return None
    return conn.execute("select max(run_date) from raw.load_batch where source = 'platform' "
                        "and status = 'succeeded' and run_date > %s", (run_date,)).fetchone()[0]


def ingest_feeds(settings: Settings, run_date: dt.date, folders: list[str] | None = None) -> dict:
    """Load every landing folder; a file that cannot be read is a 'failed' batch, the rest go on."""
    from collections import Counter

    from ingest.feeds.load import load_all

    with _connect(settings) as conn:
        summaries = load_all(conn, settings.landing_dir, run_date, folders=folders,
                             xlsx_max_mb=settings.feed_xlsx_max_unpacked_mb)
    for f in summaries:
        if f.status == "failed":
            log.warning("文件 %s/%s 装载失败：%s", f.folder, f.file, f.message)
    return {"by_status": dict(Counter(f.status for f in summaries)),
            "loaded": [{"file": f.file, "rows_loaded": f.rows_loaded, "rows_rejected": f.rows_rejected}
                       for f in summaries if f.status == "succeeded"],
            "failed": [{"file": f.file, "message": f.message} for f in summaries if f.status == "failed"]}


def unresolved_loads(conn, run_date: dt.date) -> list[tuple[str, str, str]]:
    """(source, origin, message) of every platform pull or file up to the run date that failed
    and that no later good delivery repaired."""
    from ingest.batches import unresolved_failures

    return unresolved_failures(conn, run_date)


def transform(settings: Settings, run_date: dt.date) -> dict:
    """One `dbt build` (models, seeds, snapshots, data tests; dbt's unit tests run in the test
    suite, not here). A failing model costs only itself and what is built on it: the outcome
    lists them, the rules skip what reads them, and the day's report tells the engineers.
    Never raises for a failing node."""
    from pipeline.dbt import DAILY_BUILD, invoke
    from pipeline.pii import install_configured_hash_key

    install_configured_hash_key(settings)   # the models hash ID numbers with a key dbt never sees
    outcome = invoke(list(DAILY_BUILD), settings.require_warehouse_url(), run_date, threads=settings.dbt_threads)
    if not outcome.success:
        log.error("dbt build 未全部成功：失败 %s，跳过 %s %s", outcome.failed, outcome.skipped,
                  outcome.error or "")
    return outcome.as_dict()


DBT_SCHEMAS = ("staging", "intermediate", "marts", "snapshots")


def run_quality(settings: Settings, run_date: dt.date, families: list[str] | None = None,
                built: dict | None = None) -> dict:
    """Every rule whose tables were built today (`built`: the transform's outcome); the rest are
    listed as not run. Without an outcome (the transform itself crashed) no table dbt builds is
    trusted: only the rules over raw and dq run."""
    from expectations import catalog
    from expectations.validate import run_rules

    if built is None:
        unavailable = {r for rule in catalog.load_rules(families) for r in rule.relations
                       if r.split(".")[0] in DBT_SCHEMAS}
    else:
        unavailable = set(built.get("unavailable") or ())
    return run_rules(settings, run_date, families=families, unavailable=frozenset(unavailable))


def build_data_docs(settings: Settings) -> str | None:
    """Great Expectations Data Docs from today's stored results (off the digests' path)."""
    from expectations.validate import build_data_docs as build

    return build(settings.gx_project_dir)


def run_followup(settings: Settings, run_date: dt.date) -> dict:
    """Verification results in, deadlines and escalation, the day's checklists out."""
    from followup import run_step

    return run_step(settings, run_date)


def send_alerts(settings: Settings, run_date: dt.date) -> dict:
    """Supervisors' digests; none for a backfilled past date (its findings are not today's)."""
    from alerts.send import send_digests
    from core.schema import ensure_schema
    from expectations import dq_store

    with _connect(settings) as conn:
        ensure_schema(conn, "dq")
        if dq_store.is_catch_up(conn, run_date):
            later = dq_store.latest_run_date(conn)
            log.warning("运行日期 %s 是补跑（已有 %s 的运行）：不发送督导摘要", run_date, later)
            return {"skipped": f"补跑：已有 {later} 的运行，不发送摘要", "digests": [], "cards": [],
                    "failures": []}
        # every recipient is tried; failures are reported by the day's report, not raised here
        return send_digests(conn, run_date, settings, raise_on_failure=False)


def grant_bi_access(settings: Settings) -> str | None:
    """Keep the read-only BI role able to read every mart (after each dbt build)."""
    from pipeline.bi_access import ensure_bi_reader

    with _connect(settings) as conn:
        return ensure_bi_reader(conn, settings.bi_reader_user, settings.bi_reader_password)


# What a dbt docs site is: the page and the two artifacts it reads.
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def generate_dbt_docs(settings: Settings, run_date: dt.date) -> str:
    """`dbt docs generate`, published into DBT_DOCS_DIR (default var/dbt_docs); returns that
    directory. Generated in dbt's own target folder, where the day's build left its parse (a
    target path of its own would make dbt parse the whole project again every day)."""
    import shutil

    from pipeline.dbt import manifest_path, run_dbt

    out = settings.dbt_docs_dir.resolve()
    run_dbt(["docs", "generate", "--quiet"], settings.require_warehouse_url(), run_date,
            threads=settings.dbt_threads)
    out.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:   # each file replaced whole: a reader never sees half a site file
        tmp = out / f".{name}.partial"
        shutil.copyfile(manifest_path().parent / name, tmp)
        tmp.replace(out / name)
    return str(out)


def close_day(settings: Settings, dag_id: str, run_id: str, run_date: dt.date, outcomes: dict,
              states: dict[str, str] | None = None) -> str:
    """The last task: one report to the engineers if anything went wrong, then fail the run.
    `outcomes` are the day's task results (None: none), `states` their Airflow states."""
    from pipeline.run_report import close_day as close

    return close(settings, dag_id, run_id, run_date, outcomes, states)


@dataclass(frozen=True)
class Step:
    """One daily step: its task id, the function, the steps it runs after, and which of their
    outcomes it takes (argument name -> step)."""
    name: str
    fn: Callable
    after: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str], ...] = ()
    dated: bool = True

    def run(self, settings: Settings, run_date: dt.date, outcomes: dict) -> dict | str | None:
        kwargs = {arg: outcomes.get(step) for arg, step in self.inputs}
        return self.fn(settings, run_date, **kwargs) if self.dated else self.fn(settings, **kwargs)


# The day, in order. The DAG makes one task of each (edges from `after`; every step after the
# loads runs whatever happened before it); tests and `make bench` run them in this order.
DAY = (
    Step("ingest_platform", ingest_platform),
    Step("ingest_feeds", ingest_feeds),
    Step("transform", transform, after=("ingest_platform", "ingest_feeds")),
    Step("quality", run_quality, after=("transform",), inputs=(("built", "transform"),)),
    Step("followup", run_followup, after=("quality",)),
    Step("alerts", send_alerts, after=("followup",)),
    Step("data_docs", build_data_docs, after=("quality",), dated=False),
    Step("bi_access", grant_bi_access, after=("transform",), dated=False),
    Step("dbt_docs", generate_dbt_docs, after=("transform",)),
)
STEPS = {s.name: s for s in DAY}


def run_day(settings: Settings, run_date: dt.date, until: str | None = None,
            after_step: Callable[[str], None] | None = None, seconds: dict | None = None) -> dict:
    """The day's steps in order, in this process, up to and including `until` (default: all).
    `after_step(name)` is called after each one (tests redeliver files there); `seconds`, when
    given, gets each step's duration. Returns each step's outcome by name."""
    outcomes: dict = {}
    for step in DAY:
        t = time.perf_counter()
        outcomes[step.name] = step.run(settings, run_date, outcomes)
        if seconds is not None:
            seconds[step.name] = time.perf_counter() - t
        if after_step:
            after_step(step.name)
        if step.name == until:
            break
    return outcomes
