{{ config(**replace_dates_config('report_date')) }}
{#-
  Per report date, brand, partner and attribution model. Observed figures are what the
  callbacks show; estimated ones are Horvitz-Thompson totals over sampled users (weight
  1 / sampling ratio of the callback's date). Sampling is per user, so the variance is
  summed over users: Var = sum_u (1 - p) / p^2 * y_u^2, with y_u the user's purchase GMV
  in the cell and p the ratio; gmv_estimated_se = sqrt(Var) (0 when p = 1): the plug-in SE of
  the cell's own sampled buyers, kept for compatibility. It is not a 95 % interval (it is 0
  when no buyer was sampled); the intervals are gmv_estimated_ci_low/high and
  gmv_attributed_estimated_ci_low/high, with estimate_quality (int_estimation_cells,
  docs/estimation.md). A partner not in a programme that day has null bounds.
  gmv_attributed_observed + gmv_unattributed_observed = gmv_observed for every model.
  reads count the brand's note reads that day (the same for every partner row).
-#}

with conversions as (
    select * from {{ ref('int_conversions') }}
    where {{ when_incremental('conversion_date') }}
),

observed as (
    select
        conversion_date as report_date,
        brand_id,
        partner,
        sum(case when conversion_type = 'purchase' then 1 else 0 end) as purchases_observed,
        coalesce(sum(purchase_gmv_cny), 0) as gmv_observed,
        coalesce(sum(purchase_gmv_cny * sampling_weight), 0) as gmv_estimated,
        coalesce(sum(refund_gmv_cny), 0) as refund_gmv_observed,
        coalesce(sum(refund_gmv_cny * sampling_weight), 0) as refund_gmv_estimated
    from conversions
    group by conversion_date, brand_id, partner
),

user_gmv as (
    select
        conversion_date,
        brand_id,
        partner,
        user_hash,
        sum(purchase_gmv_cny) as gmv,
        max(sampling_ratio) as ratio
    from conversions
    where conversion_type = 'purchase'
    group by conversion_date, brand_id, partner, user_hash
),

variance as (
    select
        conversion_date as report_date,
        brand_id,
        partner,
        sum((1.0 - ratio) / (ratio * ratio) * cast(gmv as double) * cast(gmv as double)) as gmv_variance
    from user_gmv
    group by conversion_date, brand_id, partner
),

attributed as (
    select
        conversion_date as report_date,
        brand_id,
        partner,
        attribution_model,
        sum(case when conversion_type = 'purchase' and not is_unattributed then gmv_credited_observed else 0 end)
            as gmv_attributed_observed,
        sum(case when conversion_type = 'purchase' and is_unattributed then gmv_credited_observed else 0 end)
            as gmv_unattributed_observed,
        sum(case when conversion_type = 'purchase' and not is_unattributed then gmv_credited_estimated else 0 end)
            as gmv_attributed_estimated,
        sum(case when conversion_type = 'refund' and not is_unattributed then gmv_credited_observed else 0 end)
            as refund_gmv_attributed_observed
    from {{ ref('fct_attribution') }}
    where {{ when_incremental('conversion_date') }}
    group by conversion_date, brand_id, partner, attribution_model
),

touches as (
    select
        event_date as report_date,
        brand_id,
        user_hash,
        event_type,
        link_partner
    from {{ ref('int_brand_touchpoints') }}
    where {{ when_incremental('event_date') }}
),

reads as (
    select
        report_date,
        brand_id,
        sum(case when event_type = 'read' then 1 else 0 end) as reads
    from touches
    group by report_date, brand_id
),

clicks as (
    select
        report_date,
        brand_id,
        link_partner as partner,
        count(*) as link_clicks
    from touches
    where event_type = 'link_click'
    group by report_date, brand_id, link_partner
),

programme as (
    select
        p.report_date,
        p.partner,
        p.sampling_ratio
    from {{ ref('int_partner_programme_days') }} as p
    where p.report_date in (select r.report_date from touches as r)
),

cells as (
    select
        report_date,
        brand_id,
        partner
    from observed
    union
    select
        report_date,
        brand_id,
        partner
    from clicks
    union
    select
        r.report_date,
        r.brand_id,
        p.partner
    from reads as r
    inner join programme as p on r.report_date = p.report_date
),

-- a brand's touching users once, before they are repeated for every partner's cell
touch_users as (
    select distinct
        report_date,
        brand_id,
        user_hash
    from touches
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
        from cells as c
        inner join touch_users as t on c.report_date = t.report_date and c.brand_id = t.brand_id
        union all
        select
            conversion_date,
            brand_id,
            partner,
            user_hash
        from conversions
    ) as u
    group by report_date, brand_id, partner
),

completeness as (
    select
        report_date,
        partner,
        worst_status,
        -- published while a stage fails only once it was accepted
        is_accepted or (worst_status in ('fail', 'no_delivery') and not blocks_marts) as is_accepted
    from {{ ref('mart_callback_completeness') }}
),

models as (
    {{ attribution_models_relation() }}
),

-- 95 % intervals and their quality flag (int_estimation_cells, docs/estimation.md)
intervals as (
    select
        period_start as report_date,
        brand_id,
        partner,
        attribution_model,
        gmv_estimated_ci_low,
        gmv_estimated_ci_high,
        gmv_attributed_estimated_ci_low,
        gmv_attributed_estimated_ci_high,
        estimate_quality
    from {{ ref('int_estimation_cells') }}
    where period_grain = 'day' and partner <> 'all'
        and {{ when_incremental('period_start') }}
)

select
    c.report_date,
    c.brand_id,
    c.partner,
    m.attribution_model,
    cast(coalesce(r.reads, 0) as bigint) as reads,
    coalesce(k.link_clicks, 0) as link_clicks,
    cast(coalesce(o.purchases_observed, 0) as bigint) as purchases_observed,
    cast(coalesce(o.gmv_observed, 0) as double) as gmv_observed,
    cast(coalesce(a.gmv_attributed_observed, 0) as double) as gmv_attributed_observed,
    cast(coalesce(a.gmv_unattributed_observed, 0) as double) as gmv_unattributed_observed,
    cast(coalesce(o.gmv_estimated, 0) as double) as gmv_estimated,
    coalesce(sqrt(v.gmv_variance), 0.0) as gmv_estimated_se,
    cast(coalesce(a.gmv_attributed_estimated, 0) as double) as gmv_attributed_estimated,
    cast(coalesce(o.refund_gmv_observed, 0) as double) as refund_gmv_observed,
    cast(coalesce(o.refund_gmv_estimated, 0) as double) as refund_gmv_estimated,
    cast(coalesce(a.refund_gmv_attributed_observed, 0) as double) as refund_gmv_attributed_observed,
    pr.sampling_ratio,
    coalesce(q.worst_status, 'not_in_programme') as completeness_status,
    coalesce(q.is_accepted, false) as completeness_accepted,
    coalesce(au.audience_users, 0) as audience_users,
    {{ is_provisional('c.report_date') }} as is_provisional,
    e.gmv_estimated_ci_low,
    e.gmv_estimated_ci_high,
    e.gmv_attributed_estimated_ci_low,
    e.gmv_attributed_estimated_ci_high,
    coalesce(e.estimate_quality, 'no_sampled_buyers') as estimate_quality
from cells as c
cross join models as m
left join observed as o on c.report_date = o.report_date and c.brand_id = o.brand_id and c.partner = o.partner
left join variance as v on c.report_date = v.report_date and c.brand_id = v.brand_id and c.partner = v.partner
left join attributed as a
    on c.report_date = a.report_date and c.brand_id = a.brand_id and c.partner = a.partner
        and m.attribution_model = a.attribution_model
left join reads as r on c.report_date = r.report_date and c.brand_id = r.brand_id
left join clicks as k on c.report_date = k.report_date and c.brand_id = k.brand_id and c.partner = k.partner
left join programme as pr on c.report_date = pr.report_date and c.partner = pr.partner
left join completeness as q on c.report_date = q.report_date and c.partner = q.partner
left join audience as au on c.report_date = au.report_date and c.brand_id = au.brand_id and c.partner = au.partner
left join intervals as e
    on c.report_date = e.report_date and c.brand_id = e.brand_id and c.partner = e.partner
        and m.attribution_model = e.attribution_model
