{{ config(materialized='table') }}
-- One row per partner and day of a callback programme, with what is in force that day
-- (seeds/callback_sampling_policy.csv): programme version, per-user sampling ratio and landing
-- rate. An open-ended programme runs to the day after the last delivery. Everything that needs
-- "the ratio on this date" joins this on (partner, date) instead of the policy's validity ranges.
with last_delivery as (
    select max(last_delivery_date) as last_delivery_date
    from {{ ref('int_reprocessing_dates') }}
),

programmes as (
    select
        p.partner,
        p.program_version,
        p.sampling_ratio,
        p.landing_rate,
        p.valid_from,
        {{ days_between('p.valid_from', 'coalesce(p.valid_to, ' ~ add_days('l.last_delivery_date', 1) ~ ')') }} as last_day_number
    from {{ ref('callback_sampling_policy') }} as p
    cross join last_delivery as l
)

select
    p.partner,
    {{ add_days('p.valid_from', 'd.k') }} as report_date,
    p.program_version,
    p.sampling_ratio,
    p.landing_rate
from programmes as p
inner join {{ integers_upto('(select max(last_day_number) from programmes)') }} as d
    on p.last_day_number >= d.k
