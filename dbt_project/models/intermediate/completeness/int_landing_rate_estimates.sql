{{ config(materialized='table') }}
{#-
  The partner's landing rate as the data say it, beside the policy seed's landing_rate: per
  partner and report date, the median over the previous completeness_baseline_days days (with a
  loaded dump and clicked users) of visited / (clicked x sampling_ratio). A median, so an
  incident day or two do not move it; every status counts, so a wrong seed that fails every day
  is still estimated. The dbt test landing_rate_matches_policy (severity warn) flags a material
  disagreement before it blocks everything.
-#}
{%- set window = var('completeness_baseline_days') -%}

with daily as (
    select
        t.report_date,
        t.partner,
        t.landing_rate,
        cast(t.visited_users as double) / (t.clicked_users * t.sampling_ratio) as daily_landing_rate
    from {{ ref('int_completeness_tests') }} as t
    inner join {{ ref('stg_partners__deliveries') }} as d
        on t.partner = d.partner and t.report_date = d.delivery_date
    where d.delivery_status = 'loaded' and t.clicked_users > 0 and t.sampling_ratio > 0
)

select
    j.report_date,
    j.partner,
    j.landing_rate as policy_landing_rate,
    median(b.daily_landing_rate) as estimated_landing_rate,
    count(b.report_date) as baseline_days,
    min(b.report_date) as baseline_from,
    max(b.report_date) as baseline_to
from daily as j
left join daily as b
    on j.partner = b.partner
        and j.report_date > b.report_date
        and b.report_date >= {{ add_days('j.report_date', -window) }}
group by j.report_date, j.partner, j.landing_rate
