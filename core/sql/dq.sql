-- dq: rule runs, dq.issue and its history, follow-up, digests and the day's report.
create schema if not exists dq;
-- the one haversine (earth radius 6371.0088 km): rules call it, and so does dbt's int_visits
-- (ensure_schema runs before every dbt build: pipeline.pii.install_hash_key)
create or replace function dq.distance_km(lat1 double precision, lon1 double precision,
                                          lat2 double precision, lon2 double precision)
returns double precision language sql immutable parallel safe as $$
  select 2 * 6371.0088 * asin(sqrt(
      power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)))
$$;
comment on function dq.distance_km(double precision, double precision, double precision, double precision) is
    '两点之间的球面距离（公里；纬度、经度以度计）';
create table if not exists dq.issue (
    rule_id           text not null,
    severity          text not null,
    entity_type       text not null,
    entity_id         text not null,
    county_code       text,
    town_code         text,
    village_code      text,
    detail            text,
    first_detected_on date not null,
    last_detected_on  date not null,
    status            text not null check (status in ('open', 'resolved')),
    resolved_on       date,
    primary key (rule_id, entity_id)
);
create index if not exists issue_status_idx on dq.issue (status, county_code);
comment on table dq.issue is '数据质量与预警问题：每个规则×对象一行，逐日更新（消失的问题标记为已解决，不删除）';
comment on column dq.issue.rule_id is '规则编号（见规则目录）';
comment on column dq.issue.severity is '严重程度（high 高 / medium 中 / low 低）';
comment on column dq.issue.entity_type is '对象类型（visit 走访 / grid 网格 / household 户 …）';
comment on column dq.issue.entity_id is '对象编号';
comment on column dq.issue.county_code is '县代码';
comment on column dq.issue.town_code is '乡镇代码';
comment on column dq.issue.village_code is '村代码';
comment on column dq.issue.detail is '问题说明（中文，已脱敏）';
comment on column dq.issue.first_detected_on is '首次发现日期';
comment on column dq.issue.last_detected_on is '最近一次发现日期';
comment on column dq.issue.status is '状态（open 未解决 / resolved 已解决）';
comment on column dq.issue.resolved_on is '解决日期（问题不再出现的运行日期）';
create table if not exists dq.validation_run (
    run_id          text not null,
    run_date        date not null,
    suite_name      text not null,
    rule_id         text not null,
    success         boolean not null,
    unexpected_rows integer not null,
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    data_docs_url   text,
    primary key (run_id, rule_id)
);
-- verification, deadlines and escalation (followup/); added columns keep old rows valid
alter table dq.issue add column if not exists verification_result text
    check (verification_result in ('属实', '不属实', '已整改'));
alter table dq.issue add column if not exists verified_on date;
alter table dq.issue add column if not exists verified_by text;
alter table dq.issue add column if not exists verification_note text;
alter table dq.issue add column if not exists verification_received_on date;
alter table dq.issue add column if not exists verified_fingerprint text;
alter table dq.issue add column if not exists due_on date;
alter table dq.issue add column if not exists escalation_level text not null default 'village'
    check (escalation_level in ('village', 'town', 'county'));
alter table dq.issue add column if not exists escalated_on date;
alter table dq.issue add column if not exists dismissed boolean not null default false;
alter table dq.issue add column if not exists claimed_fixed_still_open boolean not null default false;
comment on column dq.issue.verification_result is '最近一次核实结果（属实 / 不属实 / 已整改；空为尚未核实）';
comment on column dq.issue.verified_on is '最近一次核实日期';
comment on column dq.issue.verified_by is '核实人（已脱敏）';
comment on column dq.issue.verification_note is '核实说明（已脱敏）';
comment on column dq.issue.verification_received_on is '核实结果交回日期（核查结果文件的日期）';
comment on column dq.issue.verified_fingerprint is '核实时问题说明的指纹（md5）：记录变化后“不属实”不再有效，重新预警';
comment on column dq.issue.due_on is '整改期限（发现或重新预警之日加上 config/followup.yml 规定的天数）';
comment on column dq.issue.escalation_level is '督办层级（village 村 / town 乡镇：已逾期 / county 县：逾期超过第二个期限）';
comment on column dq.issue.escalated_on is '最近一次升级督办的运行日期';
comment on column dq.issue.dismissed is '是否已核实为不属实且记录未变化（为真时不再预警、不进核查清单）';
comment on column dq.issue.claimed_fixed_still_open is '整改不实：已报“已整改”，但之后的运行中数据仍显示该问题';
create table if not exists dq.issue_event (
    event_id    bigserial primary key,
    rule_id     text not null,
    entity_id   text not null,
    run_date    date not null,
    event       text not null check (event in ('opened', 'redetected', 'resolved', 'verified',
                    'dismissed', 'raised_again', 'escalated', 'claimed_fixed_still_open')),
    detail      text,
    source      text not null,
    recorded_at timestamptz not null default now()
);
-- a rerun of the same date records nothing twice
create unique index if not exists issue_event_once_idx
    on dq.issue_event (rule_id, entity_id, run_date, event, source);
create index if not exists issue_event_issue_idx on dq.issue_event (rule_id, entity_id, event_id);
comment on table dq.issue_event is '问题的每一次变化一行（发现、再次出现、解决、核实、不属实、重新预警、升级督办、整改不实），可据以还原每条问题的全过程';
comment on column dq.issue_event.rule_id is '规则编号';
comment on column dq.issue_event.entity_id is '对象编号';
comment on column dq.issue_event.run_date is '发生变化的运行日期';
comment on column dq.issue_event.event is '变化（opened 发现 / redetected 再次出现 / resolved 解决 / verified 核实 / dismissed 核实为不属实 / raised_again 记录变化重新预警 / escalated 逾期升级 / claimed_fixed_still_open 整改不实）';
comment on column dq.issue_event.detail is '说明（中文）';
comment on column dq.issue_event.source is '来源（rule_run 规则运行 / verification:文件名 核查结果 / deadline 期限检查）';
create table if not exists dq.rule_sync (
    rule_id  text not null,
    run_date date not null,
    findings integer not null,
    primary key (rule_id, run_date)
);
comment on table dq.rule_sync is '每条规则每个运行日期合并一次：该日发现的问题数（补跑过去的日期也记录）';
create table if not exists dq.issue_slice (
    run_date           date not null,
    rule_id            text not null,
    entity_id          text not null,
    detail_fingerprint text not null,
    primary key (run_date, rule_id, entity_id)
);
comment on table dq.issue_slice is '每个运行日期每条规则发现的问题（当日切片；补跑过去的日期只写切片，不改变当前问题状态）';
comment on table dq.validation_run is '每次校验运行每条规则一行：运行编号、校验套件、问题数、是否通过、时间';
-- the day's end (pipeline/run_report.py): task failures and the one engineers' report per run
create table if not exists dq.task_failure (
    run_id      text not null,
    dag_id      text not null,
    task_id     text not null,
    try_number  integer not null default 0,
    hostname    text,
    error       text not null,
    failed_at   timestamptz not null default clock_timestamp(),
    primary key (run_id, task_id, try_number)
);
comment on table dq.task_failure is '流水线任务失败记录（每次运行每个任务每次尝试一行，错误信息已脱敏）';
create table if not exists dq.engineer_report (
    run_id   text primary key,
    dag_id   text not null,
    run_date date,
    subject  text not null,
    problems jsonb not null default '[]',
    sent_at  timestamptz not null default clock_timestamp()
);
comment on table dq.engineer_report is '每次运行发给数据工程师的汇总报告（每次运行至多一封）';
-- digests (alerts/): what each recipient's last digest held, and what was sent once
create table if not exists dq.alert_digest_state (
    recipient_key  text not null,
    run_date       date not null,
    open_keys      text[] not null,   -- rule_id|entity_id of every open issue in that digest
    open_count     integer not null,
    new_count      integer not null,
    resolved_count integer not null,
    content_hash   text not null,
    sent_at        timestamptz not null default now(),
    primary key (recipient_key, run_date)
);
comment on table dq.alert_digest_state is '每位收件人最近一次预警摘要所含的未解决问题（用于计算“自上次摘要以来”的新增、已解决与无变化）';
comment on column dq.alert_digest_state.recipient_key is '收件人（recipient:邮箱）';
comment on column dq.alert_digest_state.run_date is '摘要对应的运行日期';
comment on column dq.alert_digest_state.open_keys is '该摘要中的未解决问题键（规则编号|对象编号）';
create table if not exists dq.alert_delivery (
    digest_key   text not null,        -- recipient group + run date
    content_hash text not null,
    run_date     date not null,
    channel      text not null,        -- outbox / smtp / wecom / dingtalk
    recipients   text not null,
    subject      text not null,
    sent_at      timestamptz not null default now(),
    primary key (digest_key, content_hash)
);
comment on table dq.alert_delivery is '已发送的预警摘要邮件和群机器人消息（同一收件人同样内容只发一次，与由哪台主机发送无关）';
-- verification results applied to dq.issue (followup/intake.py)
create table if not exists dq.verification_applied (
    batch_id   bigint primary key,
    applied    integer not null,
    ignored    integer not null
);
comment on table dq.verification_applied is '已应用到 dq.issue 的核查结果批次（每批只应用一次）：应用行数、未填写或已被更新核实取代的行数';
