{#-
  Data tests look only at the rows this run rebuilt, so a check costs the same on day 60 as on
  day 1. One mechanism: dbt_project.yml sets `where: "__this_run__"` on every data test, and
  dbt wraps each tested relation in get_where_subquery, which replaces the token by the tested
  model's own window:
    - a model rebuilt by date (replace_dates_config / by_delivery_config) is tested on the rows
      its run replaced: its replace_by column in the dates of its replace_scope;
    - a model with config meta.window = {column, scope} (staging views: delivery_date in the
      delivery window; bi views: report_date in the republished dates) likewise;
    - anything else (seeds, tables rebuilt whole) whole.
  A test that needs a further condition writes it after the token:
      config: {where: "__this_run__ and touch_event_id is not null"}
  The token is resolved at execution: a window in the where config itself would make dbt
  re-parse the project on every run.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__this_run__' in where -%}
        {%- set where = where | replace('__this_run__', rows_of_this_run(relation)) -%}
    {%- endif -%}
    {%- if where and where.strip() not in ('', '1 = 1', '(1 = 1)') -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- the predicate selecting the rows of `relation` that this run rebuilt, or (1 = 1) -#}
{% macro rows_of_this_run(relation) -%}
    {%- if not execute -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- set node = tested_node(relation) -%}
    {%- if node is none -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- set window = (node.config.meta or {}).get('window') -%}
    {%- if node.config.get('replace_by') -%}
        {%- set window = {'column': node.config.get('replace_by'), 'scope': node.config.get('replace_scope', 'republish')} -%}
    {%- endif -%}
    {%- if not window -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- if window.scope == 'delivery' or not has_window() -%}
        {{ return(in_delivery_window(window.column)) }}
    {%- endif -%}
    {%- set dates = reprocessing_dates_relation() -%}
    {{ return('(' ~ window.column ~ ' in (select report_date from ' ~ dates
              ~ (' where reattribute' if window.scope == 'reattribute' else '') ~ '))') }}
{%- endmacro %}

{#- the model, seed or snapshot behind a relation a test reads -#}
{% macro tested_node(relation) -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type in ('model', 'seed', 'snapshot')
              and (node.alias or node.name) | lower == relation.identifier | lower
              and node.schema | lower == relation.schema | lower -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- int_reprocessing_dates without ref(): a ref() made only while executing is refused by dbt.
    Every model whose tests use its dates depends on it, so it is built first. -#}
{% macro reprocessing_dates_relation() -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.int_reprocessing_dates'] -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}
