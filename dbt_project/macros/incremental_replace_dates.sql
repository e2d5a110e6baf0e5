{#-
  Incremental strategy `replace_dates`: delete the target rows of the dates being rebuilt (the
  model config replace_by names the date column, replace_scope which dates: see
  macros/reprocessing.sql), then insert the new rows.
  Unlike delete+insert on a unique key, a date that now has no rows is cleared too.
  dbt runs both statements in one transaction.
  Spark runs only dbt-spark's own strategies: there the config macros partition the table by the
  same date column, drop the replaced dates' partitions in a pre-hook and append
  (replace_dates_engine_config in reprocessing.sql).
-#}
{% macro get_incremental_replace_dates_sql(arg_dict) %}
    {{ return(adapter.dispatch('get_incremental_replace_dates_sql', 'redcat')(arg_dict)) }}
{% endmacro %}

{% macro default__get_incremental_replace_dates_sql(arg_dict) %}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }} where {{ replaced_rows_predicate() }};
    insert into {{ arg_dict['target_relation'] }} ({{ cols }})
    select {{ cols }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}
