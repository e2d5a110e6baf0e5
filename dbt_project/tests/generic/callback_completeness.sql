{% test callback_completeness(model) %}
{#-
  The gate in front of the marts: no rebuilt partner-day may have status fail or
  no_delivery unless an operator accepted it. dbt skips every mart downstream of a failing
  test; Dagster shows it as the blocking check `callback_completeness` with its evidence.
-#}
select report_date, partner, status, clicked_users, visited_users, observed_coverage, expected_coverage, p_value_below
from {{ model }}
where blocks_marts
{% endtest %}
