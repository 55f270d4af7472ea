{# Identity helpers for the monitoring models (RULES.md "ID normalisation", ID-01, ID-04). #}

{# RULES.md normalisation, literally: trim, full-width -> half-width, upper case (x -> X);
   only a 20-character number (a 残疾人证号) is cut to its first 18 characters.
   (norm_id cuts every value to 18 characters, which would hide a 19-character typo from ID-01.) #}
{% macro norm_id_exact(expr) -%}
nullif(case when length(upper({{ fw_to_hw(expr) }})) = 20 then left(upper({{ fw_to_hw(expr) }}), 18)
            else upper({{ fw_to_hw(expr) }}) end, '')
{%- endmacro %}

{# GB 11643-1999: 18 characters, 17 digits + [0-9X], characters 7-14 a real date YYYYMMDD and the
   check digit (weights mod 11 -> '10X98765432'). The CASE order keeps make_date() and the casts
   away from values that would make them raise. #}
{% macro id_number_valid(n) -%}
{%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
case
    when {{ n }} is null or {{ n }} !~ '^[0-9]{17}[0-9X]$' then false
    when substr({{ n }}, 7, 4)::int < 1 or substr({{ n }}, 11, 2)::int not between 1 and 12 then false
    when substr({{ n }}, 13, 2)::int < 1
      or substr({{ n }}, 13, 2)::int > extract(day from make_date(substr({{ n }}, 7, 4)::int, substr({{ n }}, 11, 2)::int, 1)
                                                     + interval '1 month' - interval '1 day') then false
    else substr('10X98765432',
                ({% for w in weights %}{{ w }} * substr({{ n }}, {{ loop.index }}, 1)::int{% if not loop.last %} + {% endif %}{% endfor %}) % 11 + 1,
                1) = substr({{ n }}, 18, 1)
end
{%- endmacro %}

{# Keyed hash of a normalised ID number for joins in marts; NULL stays NULL (never one shared hash:
   private.pii_hash is STRICT). #}
{% macro id_hash_or_null(expr) -%}
{{ id_hash(expr) }}
{%- endmacro %}

{# For a model that copies hashes made elsewhere (dim_person): it fails without the key too. #}
{% macro require_pii_key() -%}
{%- if execute -%}{{ assert_pii_key_installed() }}{%- endif -%}
{%- endmacro %}

{# Whether a text holds a full ID number anywhere (17 digits and a digit or X in a row). The regex
   costs 2.3 s over a city's 1.3 million persons; it can only match a text of 18 characters or more,
   and one of exactly 18 only if it has no '*' (a masked number always has). CASE keeps that order:
   in an AND the planner runs the cheapest-looking test first, and that was the regex. #}
{% macro holds_full_id(expr) -%}
case when length({{ expr }}) > 18 or (length({{ expr }}) = 18 and {{ expr }} not like '%*%')
     then {{ expr }} ~ '[0-9]{17}[0-9X]' end
{%- endmacro %}
