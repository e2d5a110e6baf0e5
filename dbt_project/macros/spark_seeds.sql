{#-
  dbt-spark's seed loader, with values written as escaped SQL literals instead of bound
  parameters. dbt-spark's session method binds by pasting each value between single quotes,
  unescaped and with None as the text 'None' (dbt/adapters/spark/session.py, _fix_binding):
  a seed text with an apostrophe ("this project's assumption") breaks the insert, and an empty
  text cell becomes the string 'None'. Literals behave the same with every connection method.
  Otherwise as dbt-spark 1.11's spark__load_csv_rows (batches, column_types overrides).
-#}
{% macro spark__load_csv_rows(model, agate_table) %}

  {% set batch_size = get_batch_size() %}
  {% set column_override = model['config'].get('column_types', {}) %}

  {% set statements = [] %}

  {% for chunk in agate_table.rows | batch(batch_size) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                  {%- set type = column_override.get(col_name, inferred_type) -%}
                    cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }})
                  {%- if not loop.last %},{%- endif %}
              {%- endfor -%})
              {%- if not loop.last %},{%- endif %}
          {%- endfor %}
      {% endset %}

      {% do adapter.add_query(sql, abridge_sql_log=True) %}

      {% if loop.index0 == 0 %}
          {% do statements.append(sql) %}
      {% endif %}
  {% endfor %}

  {# Return SQL so we can render it out into the compiled files #}
  {{ return(statements[0]) }}
{% endmacro %}

{#- a CSV cell as a Spark SQL literal: null, or its text quoted with \ and ' escaped; the
    cast around it gives the column's type (numbers, dates and booleans parse from text) -#}
{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}null
    {%- else -%}'{{ (value | string) | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
