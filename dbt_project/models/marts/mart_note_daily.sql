{{ config(**replace_dates_config('report_date')) }}
{#-
  Per report date, note and attribution model: the front of the funnel as counted on the
  content side (the same for every model), and the partner side as credited to the note by
  the model (so the back-of-funnel columns can be fractional). GMV counts at the purchase's
  date; refund_gmv_observed at the refund's date, attributed like its order.
    gmv_attributed_estimated_ci_low/high  95 % interval of the true GMV the model credits to the
                  note (int_estimation_note_cells: the brand cells' method on the note's buyers,
                  docs/estimation.md); null when no buyer of the note was sampled.
    estimate_quality  ok (full sampling, or >= 20 sampled buyers), small_sample (grey out),
                  no_sampled_buyers (no sampled buyer touched the note: no interval).
  Counts are cast to bigint (DuckDB sums integers as HUGEINT, which Spark lacks): the enforced
  contract (_marts.yml) holds on both engines.
-#}

with touches as (
    select
        event_date as report_date,
        note_id,
        user_hash,
        event_type
    from {{ ref('int_touchpoints') }}
    where {{ when_incremental('event_date') }}
),

content as (
    select
        report_date,
        note_id,
        sum(case when event_type = 'read' then 1 else 0 end) as reads,
        sum(case when event_type = 'like' then 1 else 0 end) as likes,
        sum(case when event_type = 'collect' then 1 else 0 end) as collects,
        sum(case when event_type = 'comment' then 1 else 0 end) as comments,
        sum(case when event_type = 'share' then 1 else 0 end) as shares,
        sum(case when event_type = 'link_click' then 1 else 0 end) as link_clicks
    from touches
    group by report_date, note_id
),

credited_rows as (
    select *
    from {{ ref('fct_attribution') }}
    where note_id is not null
        and {{ when_incremental('conversion_date') }}
),

-- every model credits the same touches (a row per eligible touch, credit 0 included), so one
-- model's rows name the converting users of a note: a seventh of the join
converted_users as (
    select
        f.conversion_date,
        f.note_id,
        c.user_hash
    from credited_rows as f
    inner join {{ ref('int_conversions') }} as c
        on f.conversion_date = c.conversion_date and f.conversion_id = c.conversion_id
    where f.attribution_model = '{{ rule_based_attribution_models()[0] }}'
),

credited as (
    select
        conversion_date as report_date,
        note_id,
        attribution_model,
        sum(case when conversion_type = 'search' then credit else 0 end) as searches,
        sum(case when conversion_type = 'store_visit' then credit else 0 end) as store_visits,
        sum(case when conversion_type = 'add_to_cart' then credit else 0 end) as add_to_carts,
        sum(case when conversion_type = 'purchase' then credit else 0 end) as purchases,
        sum(case when conversion_type = 'purchase' then gmv_credited_observed else 0 end) as gmv_observed,
        sum(case when conversion_type = 'purchase' then gmv_credited_estimated else 0 end) as gmv_estimated,
        sum(case when conversion_type = 'refund' then gmv_credited_observed else 0 end) as refund_gmv_observed
    from credited_rows
    group by conversion_date, note_id, attribution_model
),

models as (
    {{ attribution_models_relation() }}
),

cells as (
    select
        c.report_date,
        c.note_id,
        m.attribution_model
    from content as c cross join models as m
    union
    select
        report_date,
        note_id,
        attribution_model
    from credited
),

intervals as (
    select
        report_date,
        note_id,
        attribution_model,
        gmv_attributed_estimated_ci_low,
        gmv_attributed_estimated_ci_high,
        estimate_quality
    from {{ ref('int_estimation_note_cells') }}
    where {{ when_incremental('report_date') }}
),

audience as (
    select
        report_date,
        note_id,
        count(distinct user_hash) as audience_users
    from (
        select
            report_date,
            note_id,
            user_hash
        from touches
        union all
        select
            conversion_date,
            note_id,
            user_hash
        from converted_users
    ) as u
    group by report_date, note_id
)

select
    c.report_date,
    c.note_id,
    c.attribution_model,
    n.brand_id,
    n.creator_id,
    n.category,
    cast(coalesce(t.reads, 0) as bigint) as reads,
    cast(coalesce(t.likes, 0) as bigint) as likes,
    cast(coalesce(t.collects, 0) as bigint) as collects,
    cast(coalesce(t.comments, 0) as bigint) as comments,
    cast(coalesce(t.shares, 0) as bigint) as shares,
    cast(coalesce(t.link_clicks, 0) as bigint) as link_clicks,
    cast(coalesce(k.searches, 0) as double) as searches,
    cast(coalesce(k.store_visits, 0) as double) as store_visits,
    cast(coalesce(k.add_to_carts, 0) as double) as add_to_carts,
    cast(coalesce(k.purchases, 0) as double) as purchases,
    cast(coalesce(k.gmv_observed, 0) as double) as gmv_observed,
    cast(coalesce(k.gmv_estimated, 0) as double) as gmv_estimated,
    cast(coalesce(k.refund_gmv_observed, 0) as double) as refund_gmv_observed,
    cast(coalesce(a.audience_users, 0) as bigint) as audience_users,
    {{ is_provisional('c.report_date') }} as is_provisional,
    cast(e.gmv_attributed_estimated_ci_low as double) as gmv_attributed_estimated_ci_low,
    cast(e.gmv_attributed_estimated_ci_high as double) as gmv_attributed_estimated_ci_high,
    coalesce(e.estimate_quality, 'no_sampled_buyers') as estimate_quality
from cells as c
left join content as t on c.report_date = t.report_date and c.note_id = t.note_id
left join credited as k
    on c.report_date = k.report_date and c.note_id = k.note_id and c.attribution_model = k.attribution_model
left join {{ ref('int_notes') }} as n on c.note_id = n.note_id
left join audience as a on c.report_date = a.report_date and c.note_id = a.note_id
left join intervals as e
    on c.report_date = e.report_date and c.note_id = e.note_id and c.attribution_model = e.attribution_model
