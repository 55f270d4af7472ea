{# Full-width digits/letters/space -> half-width, then trim: what field exports carry. #}
{% macro fw_to_hw(expr) -%}
btrim(translate({{ expr }},
  '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ　（）',
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ()'))
{%- endmacro %}

{# ID numbers are compared after trim, full-width -> half-width and x -> X;
   a 20-character disability certificate number starts with the 18-character ID. #}
{% macro norm_id(expr) -%}
nullif(left(upper(replace({{ fw_to_hw(expr) }}, ' ', '')), 18), '')
{%- endmacro %}

{# Keyed hash for joins in marts: never the ID itself. SHA-256 over key + ID; the key comes
   from the environment (PII_HASH_KEY) and has no default, so a deployment cannot run with a
   key everybody knows. #}
{% macro id_hash(expr) -%}
encode(sha256(convert_to('{{ env_var("PII_HASH_KEY") }}' || ':' || coalesce({{ expr }}, ''), 'UTF8')), 'hex')
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

{# Haversine distance in kilometres. #}
{% macro distance_km(lat1, lon1, lat2, lon2) -%}
(2 * 6371.0088 * asin(sqrt(
    power(sin(radians(({{ lat2 }}) - ({{ lat1 }})) / 2), 2)
  + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }}))
  * power(sin(radians(({{ lon2 }}) - ({{ lon1 }})) / 2), 2))))
{%- endmacro %}

{# The run's logical date as a SQL date literal. #}
{% macro run_date() -%}
date '{{ var("run_date") }}'
{%- endmacro %}
