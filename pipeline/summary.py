"""The short run summary `make run` prints: loads, marts, open issues, e-mails."""
from __future__ import annotations

import datetime as dt

import psycopg

from core.warehouse import has_table


def build_summary(conn: psycopg.Connection, run_date: dt.date) -> str:
    out = [f"== 防返贫监测日流水线 运行日期 {run_date} =="]
    out.append("-- 装载（本运行日期的批次）: 来源/对象  读入  装载  拒收  状态")
    for source, entity, rows_in, loaded, rejected, statuses in conn.execute(
        """select source, entity, sum(rows_in), sum(rows_loaded), sum(rows_rejected),
                  string_agg(distinct status, ',')
           from raw.load_batch where run_date = %s and status <> 'superseded'
           group by 1, 2 order by source = 'platform' desc, source, entity""", (run_date,)).fetchall():
        label = entity if source == "platform" else source
        out.append(f"   {source + '/' + label if source == 'platform' else label:<34}"
                   f"{rows_in:>9}{loaded:>9}{rejected:>7}  {statuses}")
    for origin, message in conn.execute(
            "select origin, message from raw.load_batch where run_date=%s and status='failed' "
            "group by origin, message order by origin", (run_date,)).fetchall():
        out.append(f"   !! 失败 {origin}: {message}")
    out.append("-- 数据集市 (marts): 表  行数")
    for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_schema='marts' "
            "order by table_name").fetchall():
        n = conn.execute(f'select count(*) from marts."{table}"').fetchone()[0]
        out.append(f"   {table:<34}{n:>9}")
    if has_table(conn, "dq.issue"):
        out.append("-- 未解决问题（按规则）")
        for rule_id, n, new in conn.execute(
                "select rule_id, count(*), count(*) filter (where first_detected_on=%s) "
                "from dq.issue where status='open' group by 1 order by 1", (run_date,)).fetchall():
            out.append(f"   {rule_id:<10}{n:>7}  (今日新增 {new})")
    if has_table(conn, "dq.alert_delivery"):
        rows = conn.execute("select channel, subject from dq.alert_delivery where run_date=%s "
                            "order by sent_at", (run_date,)).fetchall()
        out.append(f"-- 预警邮件：{len(rows)} 封")
        out += [f"   [{c}] {s}" for c, s in rows]
    return "\n".join(out)


def day_report(conn: psycopg.Connection, run_date: dt.date, since: float) -> list[str]:
    """The problems of the engineers' report made for run_date since `since` (epoch), if any."""
    if not has_table(conn, "dq.engineer_report"):
        return []
    row = conn.execute("select problems from dq.engineer_report where run_date = %s "
                       "and sent_at >= to_timestamp(%s) order by sent_at desc limit 1",
                       (run_date, since)).fetchone()
    return list(row[0]) if row else []
