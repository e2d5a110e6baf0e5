{% test landing_rate_matches_policy(model) %}
{#-
  Warn-only: the landing rate estimated from the trailing days (at least
  completeness_baseline_min_days of them) differs from the policy seed's by more than
  completeness_min_shortfall (relative). The seed is then likely wrong: correct
  seeds/callback_sampling_policy.csv before the completeness check fails or passes for the
  wrong reason.
-#}
select report_date, partner, policy_landing_rate, estimated_landing_rate, baseline_days, baseline_from, baseline_to
from {{ model }}
where baseline_days >= {{ var('completeness_baseline_min_days') }}
    and abs(estimated_landing_rate / policy_landing_rate - 1) > {{ var('completeness_min_shortfall') }}
{% endtest %}
