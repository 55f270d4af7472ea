"""`make bench`: each daily step on a synthetic province, beside the limit it is held against,
measured in the same run on the same PostgreSQL.

Environment:
  BENCH_HOUSEHOLDS  scales, comma-separated (default 20000), e.g. 20000,100000,400000
  BENCH_WARMUP      unmeasured runs before the repeats (default 1)
  BENCH_REPEATS     measured repeats; min and median are reported (default 2)
  WAREHOUSE_URL     a server to use (a database bench_<n>_<time> is created on it and dropped
                    afterwards); unset: the embedded server under var/pg
  BENCH_KEEP_DB=1   keep the bench databases
  BENCH_FRESH_PROVINCE=1  generate the synthetic province again (else reused per generator version)

Writes var/bench/results.json (a list of {step, households, seconds, limit_seconds, ratio,
peak_rss_mb, ...}; ratio = project time / limit time, lower is better), the dbt per-model
timings and EXPLAIN ANALYZE of the slowest models beside it, and prints a Markdown table.
Figures are printed, never asserted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench import steps
from core.settings import REPO_ROOT

RUN_DATE = dt.date(2026, 11, 28)
OUT = REPO_ROOT / "var" / "bench"
GOALS = {"platform": 2, "csv": 2, "xlsx": 4, "rules": 2, "next_day": 0.15, "dag_overhead": 1.5}
CHANGED_SHARE = 0.01


def _in_child(fn, *args):
    """Run a bench step in a fresh interpreter: its peak RSS is its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """The platform simulator in its own process (python -m sim.platform_server)."""

    def __init__(self, data_dir: Path):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim.platform_server", "--data-dir", str(data_dir),
             "--port", str(self.port), "--client-id", "bench", "--client-secret", "bench"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.proc.kill()
            raise RuntimeError(f"模拟平台未能启动：{line!r}")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _server_url() -> str:
    """A URL on the server to use, without its database."""
    if os.environ.get("WAREHOUSE_URL"):
        return os.environ["WAREHOUSE_URL"]
    from local import embedded_pg

    return embedded_pg.start(REPO_ROOT / "var" / "pg", database="postgres")


def _with_db(url: str, db: str) -> str:
    return urlsplit(url)._replace(path="/" + db).geturl()


def _change_platform_records(platform_dir: Path, day: dt.date, share: float) -> int:
    """The next day's platform: every 1/share-th record of each resource changed that day.

    Stamped with the real time: the simulator's clock (and so day one's watermark, its
    server_time) is real time, and a change stamped `day` 09:00 would be older than that
    watermark, so the next day would pull nothing."""
    stamp = max(dt.datetime.now(dt.timezone.utc),
                dt.datetime.fromisoformat(f"{day.isoformat()}T09:00:00+08:00")).isoformat()
    step, changed = round(1 / share), 0
    for path in sorted(platform_dir.glob("*.jsonl")):
        # line by line into a new file: a city's platform files are several GB
        tmp = path.with_suffix(".jsonl.partial")
        with open(path, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if i % step == 0 and line.strip():
                    record = json.loads(line)
                    record["updated_at"] = stamp
                    line = json.dumps(record, ensure_ascii=False) + "\n"
                    changed += 1
                out.write(line if line.endswith("\n") else line + "\n")
        tmp.replace(path)
    return changed


def _province(households: int) -> Path:
    """The synthetic province of a scale, generated once per generator version (the code under
    sim/ and the policy file it reads) and reused by later runs: at city scale the generator
    takes longer than the bench. BENCH_FRESH_PROVINCE=1 generates it again."""
    inputs = sorted((REPO_ROOT / "sim").rglob("*.py")) + [REPO_ROOT / "config" / "policy.yml"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:12]
    out = OUT / f"province_{households}_{digest}"
    if (out / "manifest.json").exists() and not os.environ.get("BENCH_FRESH_PROVINCE"):
        print(f"  合成省份已存在（{out.name}），直接使用", flush=True)
        return out
    for old in OUT.glob(f"province_{households}_*"):   # earlier generator versions
        shutil.rmtree(old, ignore_errors=True)
    tmp = out.with_name(out.name + ".partial")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim.generator", "--out", str(tmp),
                    "--run-date", RUN_DATE.isoformat(), "--households", str(households)],
                   cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    tmp.rename(out)
    print(f"  生成合成省份：{time.perf_counter() - t:.1f} 秒", flush=True)
    return out


def _folders_by_format(landing: Path) -> dict[str, list[str]]:
    out = {"csv": [], "xlsx": []}
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        exts = {f.suffix.lower().lstrip(".") for f in folder.iterdir() if f.is_file()}
        for fmt in exts & set(out):
            out[fmt].append(folder.name)
    return out


def _row(step, households, project, limit=None, note=None, **extra) -> dict:
    runs = project["runs"]
    seconds = statistics.median(runs)
    limit_seconds = statistics.median(limit["runs"]) if limit else None
    row = {"step": step, "households": households, "seconds": round(seconds, 3),
           "seconds_min": round(min(runs), 3), "repeats": len(runs),
           "limit_seconds": round(limit_seconds, 3) if limit_seconds else None,
           "limit_seconds_min": round(min(limit["runs"]), 3) if limit else None,
           "ratio": round(seconds / limit_seconds, 2) if limit_seconds else None,
           "goal": GOALS.get(step), "peak_rss_mb": project.get("peak_rss_mb")}
    if note:
        row["note"] = note
    row.update(extra)
    return row


# BENCH_STEPS: "all", or only loaders (each of them stands alone; the later steps need the day)
LOADER_STEPS = ("platform", "files")


def _steps_wanted() -> set[str]:
    wanted = {s.strip() for s in os.environ.get("BENCH_STEPS", "all").split(",") if s.strip()}
    if wanted != {"all"} and not wanted <= set(LOADER_STEPS):
        raise SystemExit(f"BENCH_STEPS：只能是 all，或 {'、'.join(LOADER_STEPS)} 中的若干项（其余步骤依赖完整的一天）")
    return wanted


def bench_scale(households: int, server: str, warmup: int, repeats: int,
                wanted: frozenset = frozenset({"all"})) -> list[dict]:
    db = f"bench_{households}_{int(time.time())}"
    with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{db}"')
    url = _with_db(server, db)
    work = OUT / f"work_{households}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    gx_dir = str((work / "gx").resolve())
    rows: list[dict] = []
    print(f"\n## {households} 户（数据库 {db}）", flush=True)
    try:
        province = _province(households)
        landing = province / "landing"
        day = RUN_DATE.isoformat()

        whole_day = "all" in wanted
        if whole_day or "platform" in wanted:
            sim = Simulator(province)
            try:
                p = _in_child(steps.platform_load, url, sim.url, day, warmup, repeats)
            finally:
                sim.stop()
            tables = [f"platform_{f.stem}" for f in (province / "platform").glob("*.jsonl")]
            rows.append(_row("platform", households, p,
                             _in_child(steps.copy_limit, url, tables, warmup, repeats), rows=p["rows"]))
            print(f"  platform {rows[-1]['seconds']} 秒", flush=True)
        if whole_day or "files" in wanted:
            for fmt, folders in _folders_by_format(landing).items():
                f = _in_child(steps.feeds_load, url, str(landing), folders, day, warmup, repeats)
                lim = _in_child(steps.copy_limit, url, [f"feed_{x}" for x in folders], warmup, repeats)
                rows.append(_row(fmt, households, f, lim, rows=f["rows"], folders=folders))
                print(f"  {fmt} {rows[-1]['seconds']} 秒", flush=True)
        if not whole_day:
            return rows

        d = _in_child(steps.dbt_build, url, day, str(work))
        rows.append(_row("dbt_build", households, d))
        (OUT / f"models_{households}.json").write_text(json.dumps(d["models"], indent=1))
        print(f"  dbt build {rows[-1]['seconds']} 秒", flush=True)
        _explain_slowest(url, Path(d["manifest"]), households, d["models"])

        r = _in_child(steps.rules, url, gx_dir, day, warmup, repeats)
        lim = _in_child(steps.rules_by_hand, url, day, warmup, repeats)
        rows.append(_row("rules", households, r, lim, found=r["found"], found_by_hand=lim["found"]))
        print(f"  rules {rows[-1]['seconds']} 秒", flush=True)

        day_one = sum(x["seconds"] for x in rows if x["step"] in ("platform", "csv", "xlsx", "dbt_build", "rules"))
        # the next day's platform: a copy of the province's, 1% of its records changed
        shutil.copytree(province / "platform", work / "next" / "platform")
        changed = _change_platform_records(work / "next" / "platform", RUN_DATE + dt.timedelta(days=1), CHANGED_SHARE)
        night = _night_vacuum(url)
        sim = Simulator(work / "next")
        try:
            n = _in_child(steps.next_day, url, sim.url, str(landing), gx_dir,
                          (RUN_DATE + dt.timedelta(days=1)).isoformat())
        finally:
            sim.stop()
        (OUT / f"models_next_{households}.json").write_text(json.dumps(n["models"], indent=1))
        rows.append(_row("next_day", households, n, {"runs": [day_one]}, parts=n["parts"],
                         peak_rss_mb_after=n["peak_rss_mb_after"],
                         changed_records=changed,
                         autovacuum_workers_at_start=n["autovacuum_workers_at_start"],
                         night_vacuum_seconds=night,
                         note="平台 1% 记录变更，部门文件无新交付；基准为第一天各步骤中位数之和；"
                              "第二天开始前先对数据库执行 VACUUM (ANALYZE)（相当于一夜之间自动清理已完成的工作，不计入第二天）"))
        print(f"  next day {rows[-1]['seconds']} 秒（比值 {rows[-1]['ratio']}）", flush=True)
        # after the next day: the DAG's two days run dbt against databases of their own (another
        # profile), which would cost the next day a full re-parse a site never pays
        rows.append(_dag_overhead(server, db, households, work, province, day))
        print(f"  DAG {rows[-1]['seconds']} 秒（比值 {rows[-1]['ratio']}）", flush=True)
    finally:
        if not os.environ.get("BENCH_KEEP_DB"):
            with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{db}" with (force)')
    return rows


def _night_vacuum(url: str) -> float:
    """The night between day one and the next day. At a site the next run starts a day after the
    last, when autovacuum has long finished with the day's bulk writes (visibility maps,
    statistics); here the next day would start a minute after day one, beside autovacuum
    workers busy on every table day one wrote. The same work is done first, timed apart."""
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
    seconds = round(time.perf_counter() - t, 2)
    print(f"  夜间清理（VACUUM ANALYZE，不计入第二天）{seconds} 秒", flush=True)
    return seconds


def _dag_overhead(server: str, db: str, households: int, work: Path, province: Path, day: str) -> dict:
    """The whole daily DAG under `airflow dags test` against the same day's steps called
    directly (bench.steps.direct_day), each on day one in a database of its own, each in a
    fresh interpreter with its imports inside the clock. The difference is Airflow's own cost."""
    def fresh(name: str, fn) -> dict:
        sub = f"{db}_{name}"
        with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'create database "{sub}"')
        sim = Simulator(province)
        try:
            return _in_child(fn, _with_db(server, sub), sim.url, str(province / "landing"), str(work), day)
        finally:
            sim.stop()
            if not os.environ.get("BENCH_KEEP_DB"):
                with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
                    conn.execute(f'drop database if exists "{sub}" with (force)')

    direct = fresh("direct", steps.direct_day)
    d = fresh("dag", steps.dag_run)
    tasks = d["tasks"]
    airflow_only = round(d["runs"][0] - sum(tasks.values()), 2)
    return _row("dag_overhead", households, d, direct, returncode=d["returncode"], tasks=tasks,
                direct_tasks=direct["tasks"], airflow_outside_tasks_seconds=airflow_only,
                note="DAG（airflow dags test，与 make run 相同驱动）墙钟时间 / 同一天各步骤在新进程中直接调用的墙钟时间"
                     "（两者都在新数据库中跑第一天，都含导入时间）")


def _explain_slowest(url: str, manifest: Path, households: int, models: list[dict], n: int = 3) -> None:
    from bench.explain import model_sql, plan_text

    sql = model_sql(manifest)
    slow = [m["node"].split(".")[-1] for m in models if m["node"].startswith("model.")][:n]
    with open(OUT / f"explain_{households}.txt", "w", encoding="utf-8") as fh:
        for name in slow:
            if name in sql:
                fh.write(f"-- {name}\n{plan_text(url, sql[name])}\n\n")
    print(f"  最慢的模型：{', '.join(slow)}（EXPLAIN 见 var/bench/explain_{households}.txt）", flush=True)


def _fmt(v, digits=2):
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def markdown(rows: list[dict]) -> str:
    lines = ["| 步骤 step | 户数 | 耗时 中位/最小 (秒) | 极限 limit (秒) | 比值 ratio | 目标 goal | 峰值内存 (MB) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        secs = "—" if r.get("seconds") is None else f"{r['seconds']:.2f} / {r.get('seconds_min', r['seconds']):.2f}"
        goal = f"≤ {r['goal']}" if r.get("goal") is not None else ""
        lines.append(f"| {r['step']} | {r['households']} | {secs} | {_fmt(r.get('limit_seconds'))} | "
                     f"{_fmt(r.get('ratio'))} | {goal} | {_fmt(r.get('peak_rss_mb'), 0)} |")
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("PII_HASH_KEY", secrets.token_hex(32))   # a demo key, this run only
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    scales = [int(x) for x in os.environ.get("BENCH_HOUSEHOLDS", "20000").split(",") if x.strip()]
    warmup = int(os.environ.get("BENCH_WARMUP", "1"))
    repeats = max(1, int(os.environ.get("BENCH_REPEATS", "2")))
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = frozenset(_steps_wanted())
    server = _server_url()
    rows: list[dict] = []
    # a run of the loaders alone keeps the whole day's results.json as it was
    out = OUT / ("results.json" if "all" in wanted else f"results_{'_'.join(sorted(wanted))}.json")
    for n in scales:
        rows += bench_scale(n, server, warmup, repeats, wanted)
        out.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print("\n" + markdown(rows))
    print(f"\n机器：{os.cpu_count()} 核；结果：{out}")


if __name__ == "__main__":
    main()
