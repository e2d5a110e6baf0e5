{{ config(**replace_dates_config('report_date')) }}
{#-
  Return on ad spend per report date, brand and attribution model, spend by funding source.
    roas          sampling-corrected GMV attributed to any of the brand's notes / spend. Every
                  model splits a conversion among the same brand's notes, so this brand-level
                  ratio is the same for every model by construction.
    roas_boosted  only the GMV credited to touches on notes that were boosted (had spend) on the
                  day of the touch / spend: what the spend bought, and where the models differ.
  Both are null without spend. Spend counts every row of int_ad_spend, brand-level rows (null
  note_id: a campaign tied to no note) included; they boost no note, so roas_boosted and the
  boosted GMV by funding source never credit them.
    roas_ci_low/high  95 % interval of roas: spend is known exactly, so the bounds of the brand's
                  attributed GMV over all partners (int_estimation_cells, partner 'all') / spend.
    roas_brand_funded / roas_partner_funded  boosted GMV split by who funded the note's boost
                  that day (in proportion to its spend by funding source) / that source's spend
                  (brand spend includes brand-level spend tied to no note).
-#}

with spend as (
    select
        spend_date as report_date,
        brand_id,
        sum(case when funding_source = 'brand' then spend_cny else 0 end) as spend_brand_cny,
        sum(case when funding_source = 'partner' then spend_cny else 0 end) as spend_partner_cny
    from {{ ref('int_ad_spend') }}
    where {{ when_incremental('spend_date') }}
    group by spend_date, brand_id
),

gmv as (
    select
        report_date,
        brand_id,
        attribution_model,
        sum(gmv_attributed_estimated) as gmv_attributed_estimated,
        sum(gmv_attributed_observed) as gmv_attributed_observed,
        max(audience_users) as audience_users,
        max(case when is_provisional then 1 else 0 end) = 1 as is_provisional
    from {{ ref('mart_brand_daily') }}
    where {{ when_incremental('report_date') }}
    group by report_date, brand_id, attribution_model
),

boosted as (
    select
        f.conversion_date as report_date,
        f.brand_id,
        f.attribution_model,
        sum(f.gmv_credited_estimated) as gmv_attributed_boosted_estimated
    from {{ ref('fct_attribution') }} as f
    inner join (
        select distinct
            note_id,
            spend_date
        from {{ ref('int_ad_spend') }}
        where note_id is not null
    ) as s
        on f.note_id = s.note_id and {{ business_date('f.touch_time') }} = s.spend_date
    where f.conversion_type = 'purchase'
        and {{ when_incremental('f.conversion_date') }}
    group by f.conversion_date, f.brand_id, f.attribution_model
),

boosted_by_funding as (
    -- boosted GMV split by who paid for the boost: each credited touch's GMV in the proportion of
    -- its note's spend that day by funding source
    select
        f.conversion_date as report_date,
        f.brand_id,
        f.attribution_model,
        sum(f.gmv_credited_estimated * s.brand_share) as gmv_boosted_brand_funded_estimated,
        sum(f.gmv_credited_estimated * (1 - s.brand_share)) as gmv_boosted_partner_funded_estimated
    from {{ ref('fct_attribution') }} as f
    inner join (
        select
            note_id,
            spend_date,
            -- doubles: Spark divides decimals at 6 decimal places, DuckDB in double precision
            coalesce(
                cast(sum(case when funding_source = 'brand' then spend_cny else 0 end) as double)
                / nullif(cast(sum(spend_cny) as double), 0), 0
            ) as brand_share
        from {{ ref('int_ad_spend') }}
        where note_id is not null
        group by note_id, spend_date
    ) as s
        on f.note_id = s.note_id and {{ business_date('f.touch_time') }} = s.spend_date
    where f.conversion_type = 'purchase'
        and {{ when_incremental('f.conversion_date') }}
    group by f.conversion_date, f.brand_id, f.attribution_model
),

models as (
    {{ attribution_models_relation() }}
),

intervals as (
    select
        period_start as report_date,
        brand_id,
        attribution_model,
        gmv_attributed_estimated_ci_low,
        gmv_attributed_estimated_ci_high,
        estimate_quality
    from {{ ref('int_estimation_cells') }}
    where period_grain = 'day' and partner = 'all'
        and {{ when_incremental('period_start') }}
),

cells as (
    select
        s.report_date,
        s.brand_id,
        m.attribution_model
    from spend as s cross join models as m
    union
    select
        report_date,
        brand_id,
        attribution_model
    from gmv
)

select
    c.report_date,
    c.brand_id,
    c.attribution_model,
    cast(coalesce(s.spend_brand_cny, 0) as double) as spend_brand_cny,
    cast(coalesce(s.spend_partner_cny, 0) as double) as spend_partner_cny,
    cast(coalesce(s.spend_brand_cny, 0) + coalesce(s.spend_partner_cny, 0) as double) as spend_total_cny,
    cast(coalesce(g.gmv_attributed_observed, 0) as double) as gmv_attributed_observed,
    cast(coalesce(g.gmv_attributed_estimated, 0) as double) as gmv_attributed_estimated,
    cast(coalesce(g.gmv_attributed_estimated, 0) as double)
    / nullif(cast(coalesce(s.spend_brand_cny, 0) + coalesce(s.spend_partner_cny, 0) as double), 0) as roas,
    cast(coalesce(b.gmv_attributed_boosted_estimated, 0) as double) as gmv_attributed_boosted_estimated,
    cast(coalesce(b.gmv_attributed_boosted_estimated, 0) as double)
    / nullif(cast(coalesce(s.spend_brand_cny, 0) + coalesce(s.spend_partner_cny, 0) as double), 0) as roas_boosted,
    coalesce(g.audience_users, 0) as audience_users,
    coalesce(g.is_provisional, {{ is_provisional('c.report_date') }}) as is_provisional,
    e.gmv_attributed_estimated_ci_low,
    e.gmv_attributed_estimated_ci_high,
    e.gmv_attributed_estimated_ci_low
    / nullif(cast(coalesce(s.spend_brand_cny, 0) + coalesce(s.spend_partner_cny, 0) as double), 0) as roas_ci_low,
    e.gmv_attributed_estimated_ci_high
    / nullif(cast(coalesce(s.spend_brand_cny, 0) + coalesce(s.spend_partner_cny, 0) as double), 0) as roas_ci_high,
    coalesce(e.estimate_quality, 'no_sampled_buyers') as estimate_quality,
    cast(coalesce(bf.gmv_boosted_brand_funded_estimated, 0) as double) as gmv_boosted_brand_funded_estimated,
    cast(coalesce(bf.gmv_boosted_partner_funded_estimated, 0) as double) as gmv_boosted_partner_funded_estimated,
    cast(coalesce(bf.gmv_boosted_brand_funded_estimated, 0) as double)
    / nullif(cast(coalesce(s.spend_brand_cny, 0) as double), 0) as roas_brand_funded,
    cast(coalesce(bf.gmv_boosted_partner_funded_estimated, 0) as double)
    / nullif(cast(coalesce(s.spend_partner_cny, 0) as double), 0) as roas_partner_funded
from cells as c
left join spend as s on c.report_date = s.report_date and c.brand_id = s.brand_id
left join gmv as g
    on c.report_date = g.report_date and c.brand_id = g.brand_id and c.attribution_model = g.attribution_model
left join boosted as b
    on c.report_date = b.report_date and c.brand_id = b.brand_id and c.attribution_model = b.attribution_model
left join intervals as e
    on c.report_date = e.report_date and c.brand_id = e.brand_id and c.attribution_model = e.attribution_model
left join boosted_by_funding as bf
    on c.report_date = bf.report_date and c.brand_id = bf.brand_id and c.attribution_model = bf.attribution_model
