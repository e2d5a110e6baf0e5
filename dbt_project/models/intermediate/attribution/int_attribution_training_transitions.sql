{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  What each conversion date's data-driven models learn from, per conversion type: the journeys
  resolved in the data_driven_training_days (28) up to and including the date
  (int_attribution_journey_transitions), summed by channel set and transition. Only dates with
  conversions of the type get a training window. The Markov chain (int_attribution_markov_chain)
  sums it over channel sets, the Shapley values (int_attribution_shapley_values) over
  transitions; a date's window uses data up to that date only, so a rebuilt date reproduces it.
-#}
{%- set training_days = var('data_driven_training_days') -%}

with conversion_dates as (
    select distinct
        conversion_date,
        conversion_type
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

journeys as (
    select *
    from {{ ref('int_attribution_journey_transitions') }}
    where
        journey_date >= (
            select {{ add_days('min(conversion_date)', -(training_days - 1)) }} from conversion_dates
        )
)

select
    d.conversion_date,
    d.conversion_type,
    j.channel_set,
    j.from_state,
    j.to_state,
    cast(sum(j.n_transitions) as bigint) as n_transitions
from conversion_dates as d
inner join journeys as j
    on d.conversion_type = j.conversion_type
        and d.conversion_date >= j.journey_date
        and j.journey_date >= {{ add_days('d.conversion_date', -(training_days - 1)) }}
group by d.conversion_date, d.conversion_type, j.channel_set, j.from_state, j.to_state
