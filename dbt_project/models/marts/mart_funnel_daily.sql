{{ config(**replace_dates_config('report_date')) }}
{#-
  Distinct users per report date, brand and partner at each funnel stage. Content stages
  (readers, engagers, clickers) are complete; partner stages are observed among sampled
  users, and *_estimated divides them by the day's sampling ratio (users are sampled whole).
  readers and engagers are the brand's, the same on every partner row; clickers clicked a
  link to this partner. Rates: each stage over the previous one, on estimated users; visitors
  include view-through visitors, so visitors per clicker can exceed 1.
-#}
-- depends_on: {{ ref('mart_callback_completeness') }}

with touches as (
    select
        event_date as report_date,
        brand_id,
        user_hash,
        touch_kind,
        link_partner
    from {{ ref('int_brand_touchpoints') }}
    where {{ when_incremental('event_date') }}
),

content as (
    select
        report_date,
        brand_id,
        count(distinct case when touch_kind = 'view' then user_hash end) as readers,
        count(distinct case when touch_kind = 'engagement' then user_hash end) as engagers
    from touches
    group by report_date, brand_id
),

clickers as (
    select
        report_date,
        brand_id,
        link_partner as partner,
        count(distinct user_hash) as clickers
    from touches
    where touch_kind = 'click'
    group by report_date, brand_id, link_partner
),

partner_side as (
    select
        conversion_date as report_date,
        brand_id,
        partner,
        max(sampling_ratio) as sampling_ratio,
        count(distinct case when conversion_type = 'search' then user_hash end) as searchers,
        count(distinct case when conversion_type = 'store_visit' then user_hash end) as visitors,
        count(distinct case when conversion_type = 'add_to_cart' then user_hash end) as carters,
        count(distinct case when conversion_type = 'purchase' then user_hash end) as purchasers,
        count(distinct user_hash) as partner_users
    from {{ ref('int_conversions') }}
    where {{ when_incremental('conversion_date') }} and is_conversion
    group by conversion_date, brand_id, partner
),

programme as (
    select
        p.report_date,
        p.partner,
        p.sampling_ratio
    from {{ ref('int_partner_programme_days') }} as p
    where p.report_date in (select r.report_date from content as r)
),

cells as (
    select
        c.report_date,
        c.brand_id,
        p.partner
    from content as c inner join programme as p on c.report_date = p.report_date
    union
    select
        report_date,
        brand_id,
        partner
    from clickers
    union
    select
        report_date,
        brand_id,
        partner
    from partner_side
),

audience as (
    select
        report_date,
        brand_id,
        partner,
        count(distinct user_hash) as audience_users
    from (
        select
            c.report_date,
            c.brand_id,
            c.partner,
            t.user_hash
        from cells as c inner join touches as t on c.report_date = t.report_date and c.brand_id = t.brand_id
        union all
        select
            conversion_date,
            brand_id,
            partner,
            user_hash
        from {{ ref('int_conversions') }}
        where {{ when_incremental('conversion_date') }} and is_conversion
    ) as u
    group by report_date, brand_id, partner
),

counts as (
    select
        c.report_date,
        c.brand_id,
        c.partner,
        coalesce(t.readers, 0) as readers,
        coalesce(t.engagers, 0) as engagers,
        coalesce(k.clickers, 0) as clickers,
        coalesce(s.searchers, 0) as searchers,
        coalesce(s.visitors, 0) as visitors,
        coalesce(s.carters, 0) as carters,
        coalesce(s.purchasers, 0) as purchasers,
        coalesce(s.sampling_ratio, p.sampling_ratio) as sampling_ratio,
        coalesce(a.audience_users, 0) as audience_users
    from cells as c
    left join content as t on c.report_date = t.report_date and c.brand_id = t.brand_id
    left join clickers as k on c.report_date = k.report_date and c.brand_id = k.brand_id and c.partner = k.partner
    left join partner_side as s on c.report_date = s.report_date and c.brand_id = s.brand_id and c.partner = s.partner
    left join programme as p on c.report_date = p.report_date and c.partner = p.partner
    left join audience as a on c.report_date = a.report_date and c.brand_id = a.brand_id and c.partner = a.partner
)

select
    report_date,
    brand_id,
    partner,
    readers,
    engagers,
    clickers,
    searchers,
    visitors,
    carters,
    purchasers,
    sampling_ratio,
    searchers / sampling_ratio as searchers_estimated,
    visitors / sampling_ratio as visitors_estimated,
    carters / sampling_ratio as carters_estimated,
    purchasers / sampling_ratio as purchasers_estimated,
    cast(engagers as double) / nullif(readers, 0) as read_to_engage_rate,
    cast(clickers as double) / nullif(readers, 0) as read_to_click_rate,
    (visitors / sampling_ratio) / nullif(clickers, 0) as visitors_per_clicker,
    cast(carters as double) / nullif(visitors, 0) as visit_to_cart_rate,
    cast(purchasers as double) / nullif(carters, 0) as cart_to_purchase_rate,
    (purchasers / sampling_ratio) / nullif(readers, 0) as read_to_purchase_rate,
    audience_users,
    {{ is_provisional('report_date') }} as is_provisional
from counts
