{{ config(**replace_dates_config('report_date')) }}
{#-
  Callback completeness per report date, partner and brand (int_completeness_brand_tests): a
  brand whose callbacks vanish while the partner's total looks fine. A companion of
  mart_callback_completeness, which takes failing_brands and its blocking decision from here.
  status: no_delivery when the partner's dump did not arrive, else the brand test's status
  (ok, fail, insufficient_data: too small a brand or too short a history). An acceptance of the
  whole partner-day (`redcat accept` without --stage) covers its brands.
-#}
{%- set z = var('completeness_z') -%}

with days as (
    select distinct delivery_date as report_date
    from {{ ref('int_touchpoints') }}
    where {{ when_incremental('delivery_date') }}
),

acceptances as (
    select
        partner,
        report_date,
        accepted_by,
        row_number() over (partition by partner, report_date order by accepted_at desc) as latest
    from {{ ref('stg_operator__completeness_acceptances') }}
    where stage is null
),

judged as (
    select
        t.*,
        coalesce(dl.delivery_status, 'missing') as delivery_status,
        a.accepted_by
    from {{ ref('int_completeness_brand_tests') }} as t
    inner join days as d on t.report_date = d.report_date
    left join {{ ref('stg_partners__deliveries') }} as dl
        on t.report_date = dl.delivery_date and t.partner = dl.partner
    left join acceptances as a
        on t.report_date = a.report_date and t.partner = a.partner and a.latest = 1
    where {{ when_incremental('t.report_date') }}
)

select
    report_date,
    partner,
    brand_id,
    cast(brand_users as bigint) as observed_users,
    cast(exposed_users as bigint) as exposed_users,
    cast(partner_users as bigint) as partner_users,
    cast(reference_users as double) as reference_users,
    cast(expected_users as double) as expected_users,
    cast(case when expected_users > 0 then brand_users / expected_users end as double) as observed_share,
    -- the lowest count of a complete day, for display: m - z sd, var = m + c2 m^2
    cast(
        greatest(expected_users - {{ z }} * sqrt(expected_users + excess_variance * expected_users * expected_users), 0)
        as double
    ) as expected_low,
    cast(p_value_below as double) as p_value_below,
    cast(alpha as double) as alpha,
    cast(judged_brands as bigint) as judged_brands,
    baseline_from,
    baseline_to,
    cast(baseline_days as bigint) as baseline_days,
    cast(baseline_rate as double) as baseline_rate,
    case when delivery_status <> 'loaded' then 'no_delivery' else test_status end as status,
    delivery_status,
    accepted_by is not null as is_accepted,
    accepted_by,
    test_status = 'fail' and delivery_status = 'loaded' and accepted_by is null as blocks_marts
from judged
