{% test attributed_types_match_the_seed(model, column_name) %}
{#-
  The data-driven journeys unroll one column per attributed conversion type at compile time
  (attributed_conversion_types() in macros/attribution.sql); the seed callback_event_types says
  which types are conversions. Fails, naming the type, when the two disagree.
-#}
{%- set compiled = attributed_conversion_types() -%}
select event_type, 'is_conversion in seeds/callback_event_types.csv, but not in attributed_conversion_types()' as problem
from {{ model }}
where is_conversion and event_type not in ('{{ compiled | join("', '") }}')
union all
select event_type, 'in attributed_conversion_types(), but not a conversion in seeds/callback_event_types.csv'
from {{ model }}
where not is_conversion and event_type in ('{{ compiled | join("', '") }}')
{% endtest %}
