{#-
  Delivery-date windows. A Dagster partition (or an analyst's --vars) names delivery dates
  [start_date, end_date); the models rebuild every report date those deliveries touch
  (int_reprocessing_dates). Without a window, every date is rebuilt: each selected model
  replaces all its rows, whatever int_reprocessing_dates holds from an earlier run (an analyst's
  `dbt build --select <mart>` does not rebuild it, and it would still list that run's dates).
-#}

{#- [start, end) of the delivery dates being built, or none. From --vars start_date/end_date
    (analysts), else from REDCAT_WINDOW_START/REDCAT_WINDOW_END (the Dagster runs). The
    environment is read at execution only: a var, or an env var read while parsing, that
    changes on every run would make dbt re-parse the project on every run. -#}
{% macro delivery_window() -%}
    {%- set start = var('start_date', none) -%}
    {%- set end = var('end_date', none) -%}
    {%- if (start is none or end is none) and execute -%}
        {%- set start = env_var('REDCAT_WINDOW_START', '') or none -%}
        {%- set end = env_var('REDCAT_WINDOW_END', '') or none -%}
    {%- endif -%}
    {{ return([start, end] if start is not none and end is not none else none) }}
{%- endmacro %}

{% macro has_window() -%}
    {{ return(delivery_window() is not none) }}
{%- endmacro %}

{#- a predicate on a delivery date column: inside the window, or true without one -#}
{% macro in_delivery_window(column='delivery_date') -%}
    {%- set window = delivery_window() -%}
    {%- if window is not none -%}
        ({{ column }} >= {{ date_literal(window[0]) }} and {{ column }} < {{ date_literal(window[1]) }})
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- a predicate on a report date column: one of the dates being rebuilt.
    scope 'reattribute': conversion dates whose attribution can change;
    scope 'republish': every date whose mart rows can change (a superset). -#}
{% macro is_reprocessed(column='report_date', scope='republish') -%}
    {%- if has_window() -%}
        {{ column }} in (select report_date from {{ ref('int_reprocessing_dates') }}
                         {%- if scope == 'reattribute' %} where reattribute{% endif %})
    {%- else -%}
        (1 = 1) /* no delivery window: every date; with one, {{ ref('int_reprocessing_dates') }} */
    {%- endif -%}
{%- endmacro %}

{#- config of a model rebuilt by report date (scope: republish or reattribute) -#}
{% macro replace_dates_config(column, scope='republish') -%}
    {{ return(replace_dates_model_config(column, scope)) }}
{%- endmacro %}

{#- config of a model that holds each raw row once, rebuilt by delivery date -#}
{% macro by_delivery_config() -%}
    {{ return(replace_dates_model_config('delivery_date', 'delivery')) }}
{%- endmacro %}

{% macro replace_dates_model_config(column, scope) -%}
    {%- set config = {
        'materialized': 'incremental',
        'incremental_strategy': 'replace_dates',
        'replace_by': column,
        'replace_scope': scope,
        'on_schema_change': 'append_new_columns',
    } -%}
    {%- do config.update(replace_dates_engine_config(column)) -%}
    {{ return(config) }}
{%- endmacro %}

{#- How an engine replaces dates. DuckDB: the custom strategy replace_dates (delete, then insert,
    macros/incremental_replace_dates.sql). Spark runs only dbt-spark's own strategies, and a
    Parquet table has no delete: the table is partitioned by the date column, a pre-hook drops the
    partitions of the dates being replaced (the rows DuckDB's delete would hit), and the new rows
    are appended. So a replaced date that now has no rows is cleared on both engines. -#}
{% macro replace_dates_engine_config(column) -%}
    {{ return(adapter.dispatch('replace_dates_engine_config', 'redcat')(column)) }}
{%- endmacro %}

{% macro duckdb__replace_dates_engine_config(column) -%}
    {{ return({}) }}
{%- endmacro %}

{% macro default__replace_dates_engine_config(column) -%}
    {{ return({
        'incremental_strategy': 'append',
        'partition_by': [column],
        'file_format': 'parquet',
        'pre_hook': ['{{ drop_replaced_partitions() }}'],
    }) }}
{%- endmacro %}

{#- Spark's half of replace_dates, run before the new rows are appended: drop the partitions of
    the target's dates that match replaced_rows_predicate(). Nothing on the first build. -#}
{% macro drop_replaced_partitions() -%}
    {%- if execute and is_incremental() -%}
        {%- set column = config.get('replace_by') -%}
        {%- set found = run_query('select distinct ' ~ column ~ ' from ' ~ this ~ ' where ' ~ replaced_rows_predicate()) -%}
        {%- set dates = found.columns[0].values() | reject('none') | map('string') | sort | list -%}
        {%- if dates -%}
            alter table {{ this }} drop if exists
            {%- for day in dates %}
                partition ({{ column }} = '{{ day }}'){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- the rows the replace_dates strategy deletes before inserting the new ones -#}
{% macro replaced_rows_predicate() -%}
    {%- set column = config.get('replace_by') -%}
    {%- set scope = config.get('replace_scope', 'republish') -%}
    {%- if column is none -%}
        {{ exceptions.raise_compiler_error("replace_dates needs the model config replace_by (the date column it replaces)") }}
    {%- endif -%}
    {{ return(in_delivery_window(column) if scope == 'delivery' else is_reprocessed(column, scope)) }}
{%- endmacro %}

{#- the model's own row filter: the reprocessed dates when incremental, everything otherwise.
    The first build reads everything; the comment keeps the dependency visible to dbt's parser. -#}
{% macro when_incremental(column, scope='republish') -%}
    {%- if is_incremental() -%} {{ is_reprocessed(column, scope) }}
    {%- else -%} (1 = 1) /* first build; later: {{ ref('int_reprocessing_dates') }} */{%- endif -%}
{%- endmacro %}
{#- true while a report date's attribution window is still open in the loaded data: fewer
    than lookback_days deliveries have arrived since, so late callbacks can still change it -#}
{% macro is_provisional(column='report_date') -%}
    ({{ column }} > {{ add_days('(select max(last_delivery_date) from ' ~ ref('int_reprocessing_dates') ~ ')', -var('lookback_days')) }})
{%- endmacro %}
