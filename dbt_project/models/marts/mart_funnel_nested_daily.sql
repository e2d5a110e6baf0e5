{{ config(materialized='table') }}
{#-
  The nested funnel per read date, brand and partner: distinct users who read the brand's notes
  that day (the cohort), and of those the users who then, within lookback_days of their first
  read that day and each after the previous step, clicked a link to the partner on one of the
  brand's notes, visited the brand's store there, added to cart and bought. Each stage is a
  subset of the previous one, so the stages never widen, and a sum over read dates (user-days)
  is nested too. Partner stages are observed among sampled users; *_estimated weights each user
  by 1 / sampling ratio of their store visit (users are sampled whole) and is capped at the
  previous stage (sampling noise can otherwise push a small cell above it).
  View-through: readers with no click to the partner in the window who still visited (bought).
  A table rebuilt whole on every run: a callback changes the cohorts of the lookback_days
  before it, which the report-date windows of the incremental marts do not cover.
  Counts are cast to bigint (DuckDB sums integers as HUGEINT, which Spark lacks): the enforced
  contract (_marts.yml) holds on both engines.
-#}
{%- set window_seconds = var('lookback_days') * 86400 -%}

with reads as (
    select
        event_date as report_date,
        brand_id,
        user_hash,
        min(touch_epoch) as read_epoch
    from {{ ref('int_brand_touchpoints') }}
    where touch_kind = 'view'
    group by event_date, brand_id, user_hash
),

clicks as (
    select
        brand_id,
        user_hash,
        link_partner as partner,
        touch_epoch
    from {{ ref('int_brand_touchpoints') }}
    where touch_kind = 'click'
),

conversions as (
    select
        brand_id,
        user_hash,
        partner,
        conversion_type,
        conversion_epoch,
        sampling_weight
    from {{ ref('int_conversions') }}
    where is_conversion and conversion_type in ('store_visit', 'add_to_cart', 'purchase')
),

cohort as (
    select
        r.report_date,
        r.brand_id,
        p.partner,
        p.sampling_ratio,
        r.user_hash,
        r.read_epoch
    from reads as r
    inner join {{ ref('int_partner_programme_days') }} as p on r.report_date = p.report_date
),

clicked as (
    select
        c.report_date,
        c.brand_id,
        c.partner,
        c.user_hash,
        c.read_epoch,
        min(k.touch_epoch) as click_epoch
    from cohort as c
    inner join clicks as k
        on
            c.brand_id = k.brand_id
            and c.user_hash = k.user_hash
            and c.partner = k.partner
            and c.read_epoch <= k.touch_epoch
            and k.touch_epoch <= c.read_epoch + {{ window_seconds }}
    group by c.report_date, c.brand_id, c.partner, c.user_hash, c.read_epoch
),

visited as (
    select
        k.report_date,
        k.brand_id,
        k.partner,
        k.user_hash,
        k.read_epoch,
        min(v.conversion_epoch) as visit_epoch,
        max(v.sampling_weight) as sampling_weight
    from clicked as k
    inner join conversions as v
        on
            k.brand_id = v.brand_id
            and k.user_hash = v.user_hash
            and k.partner = v.partner
            and v.conversion_type = 'store_visit'
            and k.click_epoch <= v.conversion_epoch
            and v.conversion_epoch <= k.read_epoch + {{ window_seconds }}
    group by k.report_date, k.brand_id, k.partner, k.user_hash, k.read_epoch
),

carted as (
    select
        s.report_date,
        s.brand_id,
        s.partner,
        s.user_hash,
        s.read_epoch,
        s.sampling_weight,
        min(a.conversion_epoch) as cart_epoch
    from visited as s
    inner join conversions as a
        on
            s.brand_id = a.brand_id
            and s.user_hash = a.user_hash
            and s.partner = a.partner
            and a.conversion_type = 'add_to_cart'
            and s.visit_epoch <= a.conversion_epoch
            and a.conversion_epoch <= s.read_epoch + {{ window_seconds }}
    group by s.report_date, s.brand_id, s.partner, s.user_hash, s.read_epoch, s.sampling_weight
),

bought as (
    select distinct
        a.report_date,
        a.brand_id,
        a.partner,
        a.user_hash,
        a.sampling_weight
    from carted as a
    inner join conversions as b
        on
            a.brand_id = b.brand_id
            and a.user_hash = b.user_hash
            and a.partner = b.partner
            and b.conversion_type = 'purchase'
            and a.cart_epoch <= b.conversion_epoch
            and b.conversion_epoch <= a.read_epoch + {{ window_seconds }}
),

not_clicked as (
    select
        c.report_date,
        c.brand_id,
        c.partner,
        c.user_hash,
        c.read_epoch
    from cohort as c
    where not exists (
            select 1
            from clicked as k
            where
                k.report_date = c.report_date
                and k.brand_id = c.brand_id
                and k.partner = c.partner
                and k.user_hash = c.user_hash
        )
),

view_through as (
    select
        n.report_date,
        n.brand_id,
        n.partner,
        n.user_hash,
        max(case when v.conversion_type = 'store_visit' then v.sampling_weight end) as visit_weight,
        max(case when v.conversion_type = 'purchase' then v.sampling_weight end) as purchase_weight
    from not_clicked as n
    inner join conversions as v
        on
            n.brand_id = v.brand_id
            and n.user_hash = v.user_hash
            and n.partner = v.partner
            and n.read_epoch <= v.conversion_epoch
            and v.conversion_epoch <= n.read_epoch + {{ window_seconds }}
    group by n.report_date, n.brand_id, n.partner, n.user_hash
),

stages as (
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        1 as stage,
        cast(null as double) as weight
    from cohort
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        2 as stage,
        cast(null as double) as weight
    from clicked
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        3 as stage,
        sampling_weight as weight
    from visited
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        4 as stage,
        sampling_weight as weight
    from carted
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        5 as stage,
        sampling_weight as weight
    from bought
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        6 as stage,
        visit_weight as weight
    from view_through
    where visit_weight is not null
    union all
    select
        report_date,
        brand_id,
        partner,
        user_hash,
        7 as stage,
        purchase_weight as weight
    from view_through
    where purchase_weight is not null
),

counts as (
    select
        s.report_date,
        s.brand_id,
        s.partner,
        sum(case when s.stage = 1 then 1 else 0 end) as readers,
        sum(case when s.stage = 2 then 1 else 0 end) as clickers,
        sum(case when s.stage = 3 then 1 else 0 end) as visitors,
        sum(case when s.stage = 4 then 1 else 0 end) as carters,
        sum(case when s.stage = 5 then 1 else 0 end) as purchasers,
        sum(case when s.stage = 6 then 1 else 0 end) as view_through_visitors,
        sum(case when s.stage = 7 then 1 else 0 end) as view_through_purchasers,
        sum(case when s.stage = 3 then s.weight else 0 end) as visitors_weighted,
        sum(case when s.stage = 4 then s.weight else 0 end) as carters_weighted,
        sum(case when s.stage = 5 then s.weight else 0 end) as purchasers_weighted,
        sum(case when s.stage = 6 then s.weight else 0 end) as view_through_visitors_weighted,
        sum(case when s.stage = 7 then s.weight else 0 end) as view_through_purchasers_weighted
    from stages as s
    group by s.report_date, s.brand_id, s.partner
),

estimated as (
    select
        c.*,
        cast(least(c.visitors_weighted, c.clickers) as double) as visitors_estimated
    from counts as c
)

select
    e.report_date,
    e.brand_id,
    e.partner,
    p.sampling_ratio,
    cast(e.readers as bigint) as readers,
    cast(e.clickers as bigint) as clickers,
    cast(e.visitors as bigint) as visitors,
    cast(e.carters as bigint) as carters,
    cast(e.purchasers as bigint) as purchasers,
    e.visitors_estimated,
    cast(least(e.carters_weighted, e.visitors_estimated) as double) as carters_estimated,
    cast(least(e.purchasers_weighted, e.carters_weighted, e.visitors_estimated) as double) as purchasers_estimated,
    cast(e.view_through_visitors as bigint) as view_through_visitors,
    cast(e.view_through_purchasers as bigint) as view_through_purchasers,
    cast(least(e.view_through_visitors_weighted, e.readers - e.clickers) as double) as view_through_visitors_estimated,
    cast(least(e.view_through_purchasers_weighted, e.readers - e.clickers) as double) as view_through_purchasers_estimated,
    cast(e.readers as bigint) as audience_users,
    {{ is_provisional('e.report_date') }} as is_provisional
from estimated as e
inner join {{ ref('int_partner_programme_days') }} as p
    on e.report_date = p.report_date and e.partner = p.partner
