{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  The first-order Markov chain each conversion date is credited with, per conversion type:
  transition counts of the date's training window (int_attribution_training_transitions: the
  journeys resolved in the data_driven_training_days up to and including the date, pooled over
  brands), and their maximum-likelihood transition probabilities n(from -> to) / n(from -> any).
  States: (start), one per channel (var attribution_channels), and the absorbing (conversion) and
  (null). One chain per conversion date with conversions, so a date's credits depend only on data
  up to that date and a rebuilt date reproduces them exactly.
-#}
with counts as (
    select
        conversion_date,
        conversion_type,
        from_state,
        to_state,
        cast(sum(n_transitions) as bigint) as n_transitions
    from {{ ref('int_attribution_training_transitions') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
    group by conversion_date, conversion_type, from_state, to_state
)

select
    conversion_date,
    conversion_type,
    from_state,
    to_state,
    n_transitions,
    cast(n_transitions as double) / sum(n_transitions) over (
        partition by conversion_date, conversion_type, from_state
    ) as transition_probability
from counts
