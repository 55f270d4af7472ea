{# Diff-incremental models (int_person_identity, int_dept_signals_linked, dim_person): the
   model's whole result is
   computed as a query every run, but only the rows that differ from the stored ones are
   written (delete+insert on the key), and rows whose key left the result are deleted by
   diff_incremental_prune. The stored table therefore equals a full build whatever changed
   upstream (records, households, duplicate numbers, 公安 deaths, the run date: a run-date
   column is compared like any other, so no row keeps a value of another date); nothing is
   inferred from load batches or watermarks.

   Rows are compared on the columns the model's yml documents (every column of such a model
   must be documented: tests/pipeline/test_incremental_equivalence.py checks it), null-safe,
   numbers as text (see diff_incremental_changed). Columns in `kept` (the ID hash) are not
   compared: they are computed only for rows that differ, and for every row when the table's
   comment (diff_incremental_fingerprint: version and key installation time) no longer matches,
   i.e. after a key rotation or a change of how the kept columns are computed. Every row is
   written again too when the stored columns are not the documented ones (a model change). #}
{% macro diff_incremental_version() -%}1{%- endmacro %}

{% macro diff_incremental_columns(kept=[]) -%}
{%- set cols = [] -%}
{%- for name in model.columns -%}{%- if name not in kept %}{%- do cols.append(name) -%}{%- endif -%}{%- endfor -%}
{{ return(cols) }}
{%- endmacro %}

{# The fingerprint as a SQL text expression: the key's installation time, never the key. #}
{% macro diff_incremental_fingerprint(with_key=false) -%}
('增量维护（只写入与完整重算结果不同的行）；版本 {{ diff_incremental_version() }}'
 {%- if with_key %} || '；密钥安装于 ' || coalesce((select installed_at::text from private.pii_key), ''){% endif %})
{%- endmacro %}

{# Is the stored table comparable: its columns (less `kept`) are the documented ones and, with
   `kept`, its fingerprint is today's. Asked at execution time, so the SQL says which way. #}
{% macro diff_incremental_comparable(kept=[], with_key=false) -%}
{%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
{%- set documented = diff_incremental_columns(kept) -%}
{%- set stored = [] -%}
{%- for c in adapter.get_columns_in_relation(this) -%}
  {%- if c.name not in kept %}{%- do stored.append(c.name) -%}{%- endif -%}
{%- endfor -%}
{%- if not documented or stored | sort != documented | sort -%}{{ return(false) }}{%- endif -%}
{%- if kept -%}
  {%- set same = run_query("select obj_description(to_regclass('" ~ this.include(database=false) ~ "'), 'pg_class') = "
                           ~ diff_incremental_fingerprint(with_key)).columns[0].values()[0] -%}
  {{ return(same == true) }}
{%- endif -%}
{{ return(true) }}
{%- endmacro %}

{# The rows of CTE `cte` to write: those the stored table lacks (compared on the documented
   columns less `kept`), or all of them when the stored table is not comparable. One hash join
   on `key` (unique in the stored table: every such model has a unique index on it) and a
   null-safe row comparison: what EXCEPT gives, without sorting both sides (at city scale
   EXCEPT sorted a million wide rows on disk). A numeric or float column is compared as text
   (numeric equality takes 1.5 for 1.50, which a full build would store as written). #}
{% macro diff_incremental_changed(cte, key, kept=[], with_key=false) -%}
{%- if diff_incremental_comparable(kept, with_key) -%}
{%- set by_text = [] -%}
{%- for c in adapter.get_columns_in_relation(this) -%}
  {%- if c.is_float() or c.is_numeric() %}{%- do by_text.append(c.name) -%}{%- endif -%}
{%- endfor -%}
{%- set others = [] -%}
{%- for c in diff_incremental_columns(kept) -%}{%- if c != key %}{%- do others.append(c) -%}{%- endif -%}{%- endfor -%}
select n.*
from {{ cte }} as n
left join {{ this }} as t on t.{{ key }} = n.{{ key }}
where t.{{ key }} is null
{%- if others %}
   or ({% for c in others %}n.{{ c }}{{ '::text' if c in by_text }}{{ ', ' if not loop.last }}{% endfor %})
      is distinct from
      ({% for c in others %}t.{{ c }}{{ '::text' if c in by_text }}{{ ', ' if not loop.last }}{% endfor %})
{%- endif %}
{%- else -%}
select * from {{ cte }}
{%- endif -%}
{%- endmacro %}

{# post_hook: drop rows whose key is no longer in the result, then (`comment`: a model with
   `kept` columns; a mart's own comment is its description) record the fingerprint. #}
{% macro diff_incremental_prune(source_relation, key, comment=false, with_key=false) -%}
    delete from {{ this }} as t
    where not exists (select from {{ source_relation }} as s where s.{{ key }} = t.{{ key }})
    {%- if comment %};
    do $do$ begin
        execute format('comment on table %s is %L', '{{ this.include(database=false) }}',
                       {{ diff_incremental_fingerprint(with_key) }});
    end $do$
    {%- endif %}
{%- endmacro %}
