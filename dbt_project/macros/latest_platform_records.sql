{# The latest version of every platform record: the API may deliver a record more than once
   (changed while paging, or again in a later run); the later updated_at wins. #}
{% macro latest_platform_records(resource) -%}
    select record_id, updated_at, is_deleted, payload, load_batch_id
    from (
        select r.*,
               row_number() over (partition by record_id
                                  order by updated_at desc, load_batch_id desc) as version_rank
        from {{ source('platform', resource) }} as r
    ) ranked
    where version_rank = 1
{%- endmacro %}
