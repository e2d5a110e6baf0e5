{{ config(materialized='table') }}
{#-
  The report dates the deliveries of this run touch, rebuilt on every run.
  reattribute: conversion dates whose attribution can change (a callback of that date arrived,
               or a touch that falls in its lookback window arrived late), and, for the
               data-driven models, the dates whose journeys or training window such data enters:
               2 x lookback_days + data_driven_training_days after every touch and callback date.
  republish:   every date whose mart rows can change: the above, touch and spend dates, partner
               delivery dates (arrival status), the day before a callback date (click coverage
               across midnight), and dates whose attribution window closes with these deliveries
               (is_provisional flips). Always true here; first_reason says why.
  Without start_date/end_date vars every date with data is rebuilt.
-#}
{%- set lookback = var('lookback_days') -%}
{#- a touch or callback of date d changes the journeys resolved up to 2 x lookback (+ 1 for the
    date boundary) days later (int_attribution_journey_transitions), and the chain of every
    conversion date whose training window holds them -#}
{%- set training_horizon = 2 * lookback + 1 + var('data_driven_training_days') - 1 -%}

with

touch_days as (
    select distinct
        event_date,
        delivery_date
    from {{ ref('stg_content__note_events') }}
    where {{ in_delivery_window() }}
),

conversion_days as (
    select distinct event_date
    from {{ ref('stg_partners__callbacks') }}
    where {{ in_delivery_window() }}
),

delivery_days as (
    select distinct delivery_date
    from {{ ref('stg_partners__deliveries') }}
    where {{ in_delivery_window() }}
),

spend_days as (
    select distinct spend_date from {{ ref('stg_content__ad_spend') }}
    where {{ in_delivery_window() }}
),

last_delivery as (
    select max(delivery_date) as last_delivery_date from {{ ref('stg_content__note_events') }}
),

candidates as (
    -- a late touch can change conversions up to lookback days after it
    select
        {{ add_days('t.event_date', 'i.k') }} as report_date,
        true as reattribute,
        'touch window' as reason
    from (select distinct event_date from touch_days) as t
    cross join {{ integers_upto(lookback) }} as i
    union all
    select
        event_date as report_date,
        true as reattribute,
        'callbacks' as reason
    from conversion_days
    union all
    -- the data-driven models: journeys and chains that this data enters (capped below at the
    -- last delivery, so a daily run rebuilds no more dates than before)
    select
        {{ add_days('d.event_date', 'i.k') }} as report_date,
        true as reattribute,
        'training window' as reason
    from (
        select event_date from touch_days
        union
        select event_date from conversion_days
    ) as d
    cross join {{ integers_upto(training_horizon) }} as i
    union all
    -- a store visit just after midnight completes the landing of a click the day before
    select
        {{ add_days('event_date', -1) }} as report_date,
        false as reattribute,
        'visit after midnight' as reason
    from conversion_days
    union all
    select
        event_date as report_date,
        false as reattribute,
        'touches' as reason
    from touch_days
    union all
    select
        delivery_date as report_date,
        false as reattribute,
        'partner delivery' as reason
    from delivery_days
    union all
    select
        spend_date as report_date,
        false as reattribute,
        'spend' as reason
    from spend_days
    union all
    select
        {{ add_days('delivery_date', -lookback) }} as report_date,
        false as reattribute,
        'window closes' as reason
    from (select distinct delivery_date from touch_days) as d
)

select
    c.report_date,
    max(case when c.reattribute then 1 else 0 end) = 1 as reattribute,
    true as republish,
    min(c.reason) as first_reason,
    max(l.last_delivery_date) as last_delivery_date
from candidates as c
cross join last_delivery as l
where c.report_date <= l.last_delivery_date
group by c.report_date
