{{ config(**replace_dates_config('report_date')) }}
{#-
  The stage tests' counts, per partner, report date and stage other than store visits: the
  reference users (the users the stage follows from, the same day) and how many of them had a
  callback of the stage that day. Linking by user removes what the day's traffic and mix change
  in a plain ratio of stage users to reference users: a complete stage keeps a stable share of
  its reference, and a lost stage lowers it.
    search       reference: store-visit users not landed from a link click (int_click_landings):
                 a visit that did not come from a click came from a search
    add_to_cart  reference: store-visit users
    purchase     reference: add-to-cart users
    refund       reference: store-visit users, not linked: a refund follows a purchase of an
                 earlier day, so linked_users counts every refund user of the day
  Sampling is per user: reference and stage users are users of the same sample, so the share
  does not depend on the sampling ratio. Every programme day has a row for every stage.
-#}

with stage_users as (
    select distinct
        conversion_date as report_date,
        partner,
        conversion_type as stage,
        user_hash
    from {{ ref('int_conversions') }}
    where {{ when_incremental('conversion_date') }}
),

landed as (
    select
        report_date,
        partner,
        user_hash
    from {{ ref('int_click_landings') }}
    where landed and {{ when_incremental('report_date') }}
),

reference_users as (
    select
        v.report_date,
        v.partner,
        'search' as stage,
        v.user_hash
    from stage_users as v
    left join landed as l
        on v.report_date = l.report_date and v.partner = l.partner and v.user_hash = l.user_hash
    where v.stage = 'store_visit' and l.user_hash is null
    union all
    select
        report_date,
        partner,
        'add_to_cart' as stage,
        user_hash
    from stage_users
    where stage = 'store_visit'
    union all
    select
        report_date,
        partner,
        'purchase' as stage,
        user_hash
    from stage_users
    where stage = 'add_to_cart'
),

linked as (
    select
        r.report_date,
        r.partner,
        r.stage,
        count(*) as reference_users,
        count(s.user_hash) as linked_users
    from reference_users as r
    left join stage_users as s
        on r.report_date = s.report_date and r.partner = s.partner and r.stage = s.stage and r.user_hash = s.user_hash
    group by r.report_date, r.partner, r.stage
),

refunds as (
    select
        report_date,
        partner,
        'refund' as stage,
        count(case when stage = 'store_visit' then 1 end) as reference_users,
        count(case when stage = 'refund' then 1 end) as linked_users
    from stage_users
    group by report_date, partner
),

counts as (
    select * from linked
    union all
    select * from refunds
),

cells as (
    select
        p.report_date,
        p.partner,
        k.event_type as stage
    from {{ ref('int_partner_programme_days') }} as p
    cross join {{ ref('callback_event_types') }} as k
    where k.event_type <> 'store_visit' and {{ when_incremental('p.report_date') }}
)

select
    c.report_date,
    c.partner,
    c.stage,
    case c.stage
        when 'search' then 'store_visit_users_without_click'
        when 'purchase' then 'add_to_cart_users'
        else 'store_visit_users'
    end as reference_population,
    c.stage <> 'refund' as is_linked,
    coalesce(n.reference_users, 0) as reference_users,
    coalesce(n.linked_users, 0) as linked_users
from cells as c
left join counts as n
    on c.report_date = n.report_date and c.partner = n.partner and c.stage = n.stage
