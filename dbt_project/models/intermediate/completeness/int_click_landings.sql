{{ config(**replace_dates_config('report_date')) }}
{#-
  Per click date, partner and user who clicked a partner link: whether the user "landed", i.e.
  the partner called back a store visit to the clicked note's brand within
  landing_window_minutes after one of the user's clicks. Users who clicked are complete on the
  content side (no sampling there): the population of the store-visit test (int_click_coverage
  counts them) and, through the landed users, the search test's reference (store-visit users not
  landed from a click, int_callback_stage_links).
-#}
{%- set window_seconds = var('landing_window_minutes') * 60 -%}

with clicks as (
    select
        event_date as report_date,
        link_partner as partner,
        user_hash,
        brand_id,
        touch_epoch
    from {{ ref('int_brand_touchpoints') }}
    where touch_kind = 'click'
        and {{ when_incremental('event_date') }}
),

bounds as (
    select
        min(touch_epoch) as lo,
        max(touch_epoch) + {{ window_seconds }} as hi
    from clicks
),

visits as (
    select
        v.partner,
        v.user_hash,
        v.brand_id,
        v.conversion_epoch
    from {{ ref('int_conversions') }} as v
    cross join bounds as b
    where v.conversion_type = 'store_visit'
        and v.conversion_epoch >= b.lo and v.conversion_epoch <= b.hi
),

landed as (
    select distinct
        c.report_date,
        c.partner,
        c.user_hash
    from clicks as c
    inner join visits as v
        on c.partner = v.partner
            and c.user_hash = v.user_hash
            and c.brand_id = v.brand_id
            and c.touch_epoch <= v.conversion_epoch
            and v.conversion_epoch <= c.touch_epoch + {{ window_seconds }}
),

clicked as (
    select distinct
        report_date,
        partner,
        user_hash
    from clicks
)

select
    k.report_date,
    k.partner,
    k.user_hash,
    l.user_hash is not null as landed
from clicked as k
left join landed as l
    on k.report_date = l.report_date and k.partner = l.partner and k.user_hash = l.user_hash
