{{ config(**replace_dates_config('report_date')) }}
{#-
  Per partner, event date and callback stage (seeds/callback_event_types.csv): distinct users
  with at least one callback of that stage, and the callbacks. Every programme day has a row for
  every stage, zero when nothing arrived: a stage whose feed failed shows as 0, not as a gap.
  Sampling is per user, so every stage of a day counts users of the same sampled population.
-#}
with counts as (
    select
        conversion_date as report_date,
        partner,
        conversion_type as stage,
        count(distinct user_hash) as stage_users,
        count(*) as callbacks
    from {{ ref('int_conversions') }}
    where {{ when_incremental('conversion_date') }}
    group by conversion_date, partner, conversion_type
),

cells as (
    select
        p.report_date,
        p.partner,
        k.event_type as stage
    from {{ ref('int_partner_programme_days') }} as p
    cross join {{ ref('callback_event_types') }} as k
    where {{ when_incremental('p.report_date') }}
)

select
    c.report_date,
    c.partner,
    c.stage,
    coalesce(n.stage_users, 0) as stage_users,
    coalesce(n.callbacks, 0) as callbacks
from cells as c
left join counts as n
    on c.report_date = n.report_date and c.partner = n.partner and c.stage = n.stage
