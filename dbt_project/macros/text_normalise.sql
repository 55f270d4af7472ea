{# Full-width digits/letters/space -> half-width, then trim: what field exports carry.
   translate() with this multibyte list costs about 8 us a value (a city's persons: 1.3 million
   ID numbers, each normalised three times in norm_id_exact); a value with none of its
   characters (nearly all) is returned as it is after one regex test, several times cheaper.
   The regex class is the same list, so the two cannot drift apart. #}
{% macro fw_to_hw(expr) -%}
{%- set full = '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ　（）' -%}
{%- set half = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ()' -%}
btrim(case when {{ expr }} ~ '[{{ full }}]' then translate({{ expr }}, '{{ full }}', '{{ half }}')
           else {{ expr }} end)
{%- endmacro %}

{# ID numbers are compared after trim, full-width -> half-width and x -> X;
   a 20-character disability certificate number starts with the 18-character ID. #}
{% macro norm_id(expr) -%}
nullif(left(upper(replace({{ fw_to_hw(expr) }}, ' ', '')), 18), '')
{%- endmacro %}

{# Keyed hash for joins in marts: never the ID itself. The key never enters SQL: the function
   private.pii_hash reads it from a table only the pipeline login can read (pipeline/pii.py,
   installed before dbt runs). NULL stays NULL. #}
{% macro id_hash(expr) -%}
{%- if execute -%}{{ assert_pii_key_installed() }}{%- endif -%}
private.pii_hash({{ expr }})
{%- endmacro %}

{# Fail the model with a clear message when install_hash_key has not run on this warehouse
   (otherwise PostgreSQL would only say that private.pii_hash does not exist). #}
{% macro assert_pii_key_installed() -%}
{%- set probe = run_query("select to_regprocedure('private.pii_hash(text)') is not null"
                          " and to_regclass('private.pii_key') is not null") -%}
{%- set ok = probe.columns[0].values()[0] -%}
{%- if ok -%}
  {%- set ok = run_query("select exists (select 1 from private.pii_key)").columns[0].values()[0] -%}
{%- endif -%}
{%- if not ok -%}
  {{ exceptions.raise_compiler_error("个人信息哈希密钥未安装：请先运行 pipeline.pii.install_hash_key（每日 DAG 在 dbt 之前自动执行，密钥来自环境变量 PII_HASH_KEY）") }}
{%- endif -%}
{%- endmacro %}

{# Age band at the run date, in whole years counted from the birth year (run year - birth
   year): it changes for everybody on 1 January only, so a BI user comparing days never learns a
   birth month or day. Bands follow the policy groups: 学前 0-5, 义务教育 6-15, 劳动年龄 16-59,
   老年 60+. #}
{% macro age_band(birth_date) -%}
case when {{ birth_date }} is null then null
     when extract(year from {{ run_date() }}) - extract(year from {{ birth_date }}) < 6 then '0-5岁'
     when extract(year from {{ run_date() }}) - extract(year from {{ birth_date }}) < 16 then '6-15岁'
     when extract(year from {{ run_date() }}) - extract(year from {{ birth_date }}) < 60 then '16-59岁'
     else '60岁及以上' end
{%- endmacro %}

{# 341225********1234 #}
{% macro mask_id(expr) -%}
case when {{ expr }} is null then null
     else left({{ expr }}, 6) || repeat('*', greatest(length({{ expr }}) - 10, 0)) || right({{ expr }}, 4) end
{%- endmacro %}

{# 138****5678 #}
{% macro mask_phone(expr) -%}
case when {{ expr }} is null or {{ expr }} = '' then null
     else left({{ expr }}, 3) || '****' || right({{ expr }}, 4) end
{%- endmacro %}

{# The run's logical date as a SQL date literal. The pipeline passes it in the environment
   (FPR_DBT_RUN_DATE), not as a var: a changed var makes dbt re-parse the whole project every
   day. The environment is read only when the SQL is compiled (`execute`), never while parsing:
   an env var read at parse time ties every file that reads it to its value, and each new day
   re-parsed those files (24 of them, 1-3 s a run). `--vars "{run_date: 'YYYY-MM-DD'}"`
   still wins (unit tests, hand runs). No default: a hand run without either fails loudly
   instead of computing some other day. #}
{% macro run_date() -%}
{%- if not execute -%}
date '1970-01-01'
{%- else -%}
{%- set value = var("run_date", none) or env_var("FPR_DBT_RUN_DATE", "") or none -%}
{%- if value is none -%}
{{ exceptions.raise_compiler_error("未提供运行日期：请用 --vars \"{run_date: 'YYYY-MM-DD'}\" 或环境变量 FPR_DBT_RUN_DATE 运行 dbt（流水线会自动传入）") }}
{%- endif -%}
date '{{ value }}'
{%- endif -%}
{%- endmacro %}
