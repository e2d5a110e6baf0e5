{#- The rule-based attribution models, as a relation with one column `attribution_model`. -#}
{% macro attribution_models() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based']) }}
{%- endmacro %}

{% macro attribution_models_relation() -%}
    {%- for model in attribution_models() %}
    select '{{ model }}' as attribution_model
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- a bi view: the mart's rows behind at least min_audience distinct users -#}
{% macro audience_suppressed(mart) -%}
select * from {{ ref(mart) }} where audience_users >= {{ var('min_audience') }}
{%- endmacro %}
