-- reports: what the periodic reports must remember (reports/backcheck.py)
create schema if not exists reports;
create table if not exists reports.backcheck_draw (
    week_start   date not null,
    town_code    text not null,
    household_id text not null,
    worker_id    text,
    weight       numeric not null,
    seed         bigint not null,
    primary key (week_start, town_code, household_id)
);
comment on table reports.backcheck_draw is '每周抽查名单：周一日期、乡镇、被抽中的农户、最近走访的网格员、抽样权重、随机种子';
