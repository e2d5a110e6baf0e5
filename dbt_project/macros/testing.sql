{#- Generic tests below look only at the rows this run rebuilt (date_column in the reprocessed
    dates), so checking a day costs the same on day 60 as on day 1. Without a window they see
    everything. -#}
{% macro rows_to_check(model, date_column) -%}
    (select * from {{ model }} where {{ is_reprocessed(date_column) if date_column else '1 = 1' }})
{%- endmacro %}
