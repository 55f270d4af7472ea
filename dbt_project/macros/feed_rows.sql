{# Rows of a landing folder's raw table that belong to a succeeded batch of a file dated on or
   before the run date (a rerun or backfill of an earlier day never sees later files), with
   version_rank = 1 on the latest row per business key (latest file date, then latest
   delivery, then last line). Without a key every row ranks 1: each row is one event. #}
{% macro feed_rows(folder, key=[]) -%}
    select
        f.*,
        {% if key -%}
        row_number() over (partition by {% for k in key %}f.{{ k }}{% if not loop.last %}, {% endif %}{% endfor %}
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc)
        {%- else -%}
        1
        {%- endif %} as version_rank
    from {{ source('feeds', folder) }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
    where f.file_date <= {{ run_date() }}
{%- endmacro %}
