{#- Generic tests below look only at the rows this run rebuilt (date_column in the reprocessed
    dates), so checking a day costs the same on day 60 as on day 1. Without a window they see
    everything. -#}
{% macro rows_to_check(model, date_column) -%}
    (select * from {{ model }} where {{ is_reprocessed(date_column) if date_column else '1 = 1' }})
{%- endmacro %}

{#- Data tests can narrow their rows to this run's with a token in their where config:
      __delivery_window__        rows of the deliveries being built (in_delivery_window)
      __reprocessed(<column>)__  rows whose date <column> is being rebuilt (is_reprocessed)
    so a test costs the same on day 60 as on day 1. The tokens are resolved here: a where config
    is rendered while parsing, and a window in it would make dbt re-parse on every run. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set ns = namespace(where=config.get('where', '')) -%}
    {%- if ns.where -%}
        {%- set ns.where = ns.where | replace('__delivery_window__', in_delivery_window()) -%}
        {%- for column in modules.re.findall('__reprocessed\\((\\w+)\\)__', ns.where) -%}
            {%- set dates = reprocessing_dates_relation() -%}
            {%- set ns.where = ns.where | replace('__reprocessed(' ~ column ~ ')__',
                                                  column ~ ' in (select report_date from ' ~ dates ~ ')') -%}
        {%- endfor -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ ns.where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- int_reprocessing_dates without ref(): a ref() made only while executing is refused by dbt.
    Every model whose tests use __reprocessed(...)__ depends on it, so it is built first. -#}
{% macro reprocessing_dates_relation() -%}
    {%- if not execute -%}{{ return('int_reprocessing_dates') }}{%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.int_reprocessing_dates'] -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}
