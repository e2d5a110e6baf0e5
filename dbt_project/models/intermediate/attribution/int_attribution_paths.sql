{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Eligible touchpoints of every conversion (refunds excluded: they inherit their order's
  attribution): the same user's (joined on the 64-bit user hash, see macros/cross_db.sql)
  touches on notes of the conversion's brand within
  [conversion_time - lookback_days, conversion_time], both ends included.
  touch_rank orders a path by touch time; ties are broken by event_id, so "first" and "last"
  are deterministic.
-#}
{%- set lookback_seconds = var('lookback_days') * 86400 -%}

with conversions as (
    select
        conversion_id,
        conversion_date,
        conversion_epoch,
        user_hash,
        brand_id
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

bounds as (
    select
        min(conversion_epoch) - {{ lookback_seconds }} as lo,
        max(conversion_epoch) as hi
    from conversions
),

touches as (
    select
        t.event_id,
        t.user_hash,
        t.note_id,
        t.touch_kind,
        t.link_partner,
        t.link_surface,
        t.touch_time,
        t.touch_epoch,
        t.brand_id,
        t.creator_id
    from {{ ref('int_brand_touchpoints') }} as t
    cross join bounds as b
    where t.touch_epoch >= b.lo and t.touch_epoch <= b.hi
),

pairs as (
    select
        c.conversion_id,
        c.conversion_date,
        c.conversion_epoch,
        t.event_id as touch_event_id,
        t.note_id,
        t.creator_id,
        t.touch_kind,
        t.link_partner,
        t.link_surface,
        t.touch_time,
        t.touch_epoch
    from conversions as c
    inner join touches as t
        on c.user_hash = t.user_hash
            and c.brand_id = t.brand_id
            and c.conversion_epoch >= t.touch_epoch
            and t.touch_epoch >= c.conversion_epoch - {{ lookback_seconds }}
)

select
    conversion_id,
    conversion_date,
    touch_event_id,
    note_id,
    creator_id,
    touch_kind,
    link_partner,
    link_surface,
    touch_time,
    (conversion_epoch - touch_epoch) / 86400.0 as days_before_conversion,
    row_number() over (partition by conversion_id order by touch_epoch, touch_event_id) as touch_rank,
    count(*) over (partition by conversion_id) as n_touches,
    max(case when touch_kind = 'click' then 1 else 0 end) over (partition by conversion_id) = 1 as is_click_through
from pairs
