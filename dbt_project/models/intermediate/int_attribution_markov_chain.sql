{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  The first-order Markov chain each conversion date is credited with, per conversion type:
  transition counts of the journeys resolved in the data_driven_training_days up to and including
  the date (int_attribution_journey_transitions, pooled over brands), and their maximum-likelihood
  transition probabilities n(from -> to) / n(from -> any).
  States: (start), one per channel (var attribution_channels), and the absorbing (conversion) and
  (null). One chain per conversion date with conversions, so a date's credits depend only on data
  up to that date and a rebuilt date reproduces them exactly.
-#}
{%- set training_days = var('data_driven_training_days') -%}

with {{ data_driven_training_ctes() }},

counts as (
    select
        d.conversion_date,
        d.conversion_type,
        j.from_state,
        j.to_state,
        cast(sum(j.n_transitions) as bigint) as n_transitions
    from conversion_dates as d
    inner join journeys as j
        on d.conversion_type = j.conversion_type
            and d.conversion_date >= j.journey_date
            and j.journey_date >= {{ add_days('d.conversion_date', -(training_days - 1)) }}
    group by d.conversion_date, d.conversion_type, j.from_state, j.to_state
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
