{#-
  Everything that differs between DuckDB and Spark SQL goes through these macros (dispatched
  with adapter.dispatch), so the models themselves are written once.
  Timestamps downstream of staging are naive UTC `timestamp`s; business dates are Asia/Shanghai.
-#}

{% macro utc_timestamp(column) -%}{{ return(adapter.dispatch('utc_timestamp', 'redcat')(column)) }}{%- endmacro %}
{% macro default__utc_timestamp(column) -%}cast({{ column }} as timestamp){%- endmacro %}
{% macro duckdb__utc_timestamp(column) -%}timezone('UTC', {{ column }}){%- endmacro %}

{#- the Asia/Shanghai calendar date of a naive UTC timestamp -#}
{% macro business_date(ts) -%}{{ return(adapter.dispatch('business_date', 'redcat')(ts)) }}{%- endmacro %}
{% macro default__business_date(ts) -%}to_date(from_utc_timestamp({{ ts }}, '{{ var("business_tz") }}')){%- endmacro %}
{% macro duckdb__business_date(ts) -%}cast(timezone('{{ var("business_tz") }}', timezone('UTC', {{ ts }})) as date){%- endmacro %}

{#- the hour of day (0-23) in the business time zone of a naive UTC timestamp -#}
{% macro business_hour(ts) -%}{{ return(adapter.dispatch('business_hour', 'redcat')(ts)) }}{%- endmacro %}
{% macro default__business_hour(ts) -%}hour(from_utc_timestamp({{ ts }}, '{{ var("business_tz") }}')){%- endmacro %}
{% macro duckdb__business_hour(ts) -%}hour(timezone('{{ var("business_tz") }}', timezone('UTC', {{ ts }}))){%- endmacro %}

{#- seconds since the epoch (fractional) of a naive UTC timestamp -#}
{% macro epoch_seconds(ts) -%}{{ return(adapter.dispatch('epoch_seconds', 'redcat')(ts)) }}{%- endmacro %}
{#- unix_micros, not cast(ts as double): the cast is refused in ANSI mode (Spark 4's default) -#}
{% macro default__epoch_seconds(ts) -%}(unix_micros({{ ts }}) / 1e6){%- endmacro %}
{% macro duckdb__epoch_seconds(ts) -%}epoch({{ ts }}){%- endmacro %}

{% macro add_days(date_expr, days) -%}{{ return(adapter.dispatch('add_days', 'redcat')(date_expr, days)) }}{%- endmacro %}
{#- Spark's date_add takes an int, not a bigint (the type of explode(sequence()) and count()) -#}
{% macro default__add_days(date_expr, days) -%}date_add({{ date_expr }}, cast({{ days }} as int)){%- endmacro %}
{% macro duckdb__add_days(date_expr, days) -%}cast({{ date_expr }} + cast({{ days }} as integer) as date){%- endmacro %}

{% macro date_literal(value) -%}cast('{{ value }}' as date){%- endmacro %}

{#- a relation `integers(k)` holding 0..n (n a SQL expression) -#}
{% macro integers_upto(n) -%}{{ return(adapter.dispatch('integers_upto', 'redcat')(n)) }}{%- endmacro %}
{% macro default__integers_upto(n) -%}(select explode(sequence(0, cast({{ n }} as int))) as k){%- endmacro %}
{% macro duckdb__integers_upto(n) -%}(select unnest(range(0, cast({{ n }} as bigint) + 1)) as k){%- endmacro %}

{#- a 64-bit hash of the user key: joins on it instead of 64-character strings. With 10^7
    users the chance that any two collide is below 3e-6. -#}
{% macro user_hash(column) -%}{{ return(adapter.dispatch('user_hash', 'redcat')(column)) }}{%- endmacro %}
{% macro default__user_hash(column) -%}xxhash64({{ column }}){%- endmacro %}
{% macro duckdb__user_hash(column) -%}hash({{ column }}){%- endmacro %}

{#- a naive UTC timestamp from seconds since the epoch (fractional), rounded to the microsecond
    on both engines (Spark's timestamp_seconds truncates a double: 0.0000029 s would be 2 us) -#}
{% macro timestamp_from_epoch(seconds) -%}{{ return(adapter.dispatch('timestamp_from_epoch', 'redcat')(seconds)) }}{%- endmacro %}
{% macro default__timestamp_from_epoch(seconds) -%}timestamp_micros(cast(round(({{ seconds }}) * 1000000) as bigint)){%- endmacro %}
{% macro duckdb__timestamp_from_epoch(seconds) -%}make_timestamp(cast(round(({{ seconds }}) * 1000000) as bigint)){%- endmacro %}

{#- whole days from start_date to end_date (end - start) -#}
{% macro days_between(start_date, end_date) -%}{{ return(adapter.dispatch('days_between', 'redcat')(start_date, end_date)) }}{%- endmacro %}
{% macro default__days_between(start_date, end_date) -%}datediff({{ end_date }}, {{ start_date }}){%- endmacro %}
{% macro duckdb__days_between(start_date, end_date) -%}date_diff('day', {{ start_date }}, {{ end_date }}){%- endmacro %}

{#- first day of the week (Monday) or month containing a date; `day` returns the date -#}
{% macro period_start(grain, date_expr) -%}
    {%- if grain == 'day' -%}{{ date_expr }}
    {%- elif grain == 'week' -%}{{ add_days(date_literal('2000-01-03'), '7 * floor(' ~ days_between(date_literal('2000-01-03'), date_expr) ~ ' / 7)') }}
    {%- else -%}{{ return(adapter.dispatch('month_start', 'redcat')(date_expr)) }}
    {%- endif -%}
{%- endmacro %}
{% macro default__month_start(date_expr) -%}trunc({{ date_expr }}, 'MM'){%- endmacro %}
{% macro duckdb__month_start(date_expr) -%}cast(date_trunc('month', {{ date_expr }}) as date){%- endmacro %}

{#- the non-null values of a group joined with `sep` in the order of `order_by`; null when none
    (Spark has no ordered string_agg: sort (order, value) pairs and join the values) -#}
{% macro string_agg_ordered(value, order_by, sep=',') -%}{{ return(adapter.dispatch('string_agg_ordered', 'redcat')(value, order_by, sep)) }}{%- endmacro %}
{% macro default__string_agg_ordered(value, order_by, sep) -%}
nullif(array_join(transform(array_sort(collect_list(case when ({{ value }}) is not null then named_struct('o', {{ order_by }}, 'v', {{ value }}) end)), x -> x.v), '{{ sep }}'), '')
{%- endmacro %}
{% macro duckdb__string_agg_ordered(value, order_by, sep) -%}string_agg({{ value }}, '{{ sep }}' order by {{ order_by }}){%- endmacro %}
