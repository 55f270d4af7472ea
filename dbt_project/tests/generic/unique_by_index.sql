{# The column is unique because a unique index on it alone (the model's `indexes` config)
   refuses a duplicate at every write; this test checks that such an index is in place, which
   is all a scan of the whole table could find out (at city scale each `unique` scan of the
   1.3 million persons took 5-7 s a day to find what the index never lets in).
   Returns a row (fails) when the relation has no valid, non-partial unique index on exactly
   this column. #}
{% test unique_by_index(model, column_name) %}
{%- set relation = dbt.string_literal(model.include(database=false) | string) %}
select {{ relation }} as relation_without_unique_index
where not exists (
    select
    from pg_index as i
    inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = to_regclass({{ relation }})
      and i.indisunique and i.indisvalid and i.indnkeyatts = 1 and i.indpred is null
      and a.attname = {{ dbt.string_literal(column_name) }}
)
{% endtest %}
