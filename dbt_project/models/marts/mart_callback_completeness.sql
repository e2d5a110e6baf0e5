{{ config(**replace_dates_config('report_date')) }}
{#-
  Callback completeness per report date and partner, for every day the partner runs a
  programme. Users who clicked a partner link (content side, unsampled) are the population;
  the share of them with a store-visit callback should be sampling_ratio x landing_rate.

  Statistics: int_completeness_tests (exact one-sided binomial at the user level).
  status
    no_delivery        the partner's dump for the day did not arrive (or was rejected)
    insufficient_data  clicked x expected < completeness_min_expected: too small to judge
    fail               p_value_below < alpha and observed < (1 - min_shortfall) x expected
    warn               p_value_above < alpha and observed > (1 + min_shortfall) x expected
    ok                 otherwise
  The materiality gate (min_shortfall) keeps huge days from failing on trivial shortfalls.
  ci_low/ci_high: Wilson score interval at z = completeness_z, for display.
  An operator's acceptance (`redcat accept`) of the whole day or of its store visits keeps the
  status but sets is_accepted.

  Every callback stage is tested in mart_callback_completeness_stages; from it come
  worst_status (no_delivery > fail > warn > insufficient_data > ok over the stages),
  failing_stages and blocks_marts: the day blocks the marts while any stage blocks (a failed
  stage or no delivery, not accepted). status and the columns before it stay the store-visit
  test they always were.

  Per brand (mart_callback_completeness_brands): failing_brands / blocking_brands; the
  within-day profile (int_completeness_profile_tests): profile_status, truncated_after_hour
  (the cut, on a failing day) and profile_blocks. Both count as a failed stage in worst_status
  and block the marts unless the whole partner-day was accepted.
-#}
{%- set z = var('completeness_z') -%}

with days as (
    -- days whose content dump is loaded: late events alone do not make a day judgeable
    select distinct delivery_date as report_date
    from {{ ref('int_touchpoints') }}
    where {{ when_incremental('delivery_date') }}
),

programme_days as (
    select
        d.report_date,
        p.partner,
        p.program_version,
        p.sampling_ratio,
        p.landing_rate
    from days as d
    inner join {{ ref('int_partner_programme_days') }} as p on d.report_date = p.report_date
),

deliveries as (
    select * from {{ ref('stg_partners__deliveries') }}
),

acceptances as (
    select
        partner,
        report_date,
        accepted_by,
        reason,
        accepted_at
    from (
        select
            *,
            row_number() over (partition by partner, report_date order by accepted_at desc) as latest
        from {{ ref('stg_operator__completeness_acceptances') }}
        where stage is null or stage = 'store_visit'
    ) as a
    where latest = 1
),

stages as (
    select
        report_date,
        partner,
        max(case status
            when 'no_delivery' then 5 when 'fail' then 4 when 'warn' then 3 when 'insufficient_data' then 2 else 1
        end) as worst_rank,
        {{ string_agg_ordered("case when status in ('fail', 'no_delivery') then stage end", 'stage_order') }} as failing_stages,
        {{ string_agg_ordered('case when blocks_marts then stage end', 'stage_order') }} as blocking_stages,
        max(case when blocks_marts then 1 else 0 end) = 1 as any_stage_blocks
    from {{ ref('mart_callback_completeness_stages') }}
    where {{ when_incremental('report_date') }}
    group by report_date, partner
),

day_acceptances as (
    -- acceptances of the whole partner-day: they cover its brand and within-day profile tests
    select
        partner,
        report_date,
        max(accepted_by) as accepted_by
    from {{ ref('stg_operator__completeness_acceptances') }}
    where stage is null
    group by partner, report_date
),

brands as (
    select
        report_date,
        partner,
        {{ string_agg_ordered("case when status = 'fail' then brand_id end", 'brand_id') }} as failing_brands,
        {{ string_agg_ordered('case when blocks_marts then brand_id end', 'brand_id') }} as blocking_brands,
        max(case when blocks_marts then 1 else 0 end) = 1 as any_brand_blocks,
        max(case when status = 'fail' then 1 else 0 end) = 1 as any_brand_fails
    from {{ ref('mart_callback_completeness_brands') }}
    where {{ when_incremental('report_date') }}
    group by report_date, partner
),

profiles as (
    select
        p.report_date,
        p.partner,
        p.test_status as profile_status,
        p.truncated_after_hour,
        p.p_value_below as profile_p_value,
        p.test_status = 'fail' and a.accepted_by is null as profile_blocks
    from {{ ref('int_completeness_profile_tests') }} as p
    left join day_acceptances as a on p.report_date = a.report_date and p.partner = a.partner
    where {{ when_incremental('p.report_date') }}
),

base as (
    select
        d.report_date,
        d.partner,
        d.program_version,
        d.sampling_ratio,
        d.landing_rate,
        d.sampling_ratio * d.landing_rate as expected_coverage,
        coalesce(t.clicked_users, 0) as clicked_users,
        coalesce(t.visited_users, 0) as visited_users,
        t.observed_coverage,
        t.p_value_below,
        t.p_value_above,
        coalesce(t.test_status, 'insufficient_data') as test_status,
        coalesce(dl.delivery_status, 'missing') as delivery_status,
        a.accepted_by,
        a.reason as acceptance_reason,
        s.worst_rank,
        s.failing_stages,
        s.blocking_stages,
        s.any_stage_blocks,
        b.failing_brands,
        b.blocking_brands,
        b.any_brand_fails,
        b.any_brand_blocks,
        pr.profile_status,
        pr.truncated_after_hour,
        pr.profile_p_value,
        pr.profile_blocks
    from programme_days as d
    left join {{ ref('int_completeness_tests') }} as t
        on d.report_date = t.report_date and d.partner = t.partner
    left join deliveries as dl
        on d.report_date = dl.delivery_date and d.partner = dl.partner
    left join acceptances as a
        on d.report_date = a.report_date and d.partner = a.partner
    left join stages as s
        on d.report_date = s.report_date and d.partner = s.partner
    left join brands as b
        on d.report_date = b.report_date and d.partner = b.partner
    left join profiles as pr
        on d.report_date = pr.report_date and d.partner = pr.partner
),

judged as (
    select
        *,
        case when delivery_status <> 'loaded' then 'no_delivery' else test_status end as status,
        -- the brand and profile tests count as failed stages in the worst status
        greatest(
            coalesce(worst_rank, 2),
            case when delivery_status = 'loaded' and (any_brand_fails or profile_status = 'fail') then 4 else 0 end
        ) as worst_check_rank
    from base
)

select
    report_date,
    partner,
    program_version,
    sampling_ratio,
    landing_rate,
    clicked_users,
    visited_users,
    observed_coverage,
    expected_coverage,
    case when clicked_users > 0 then
            (
                visited_users + {{ z }} * {{ z }} / 2.0
                - {{ z }} * sqrt(visited_users * (clicked_users - visited_users) / cast(clicked_users as double) + {{ z }} * {{ z }} / 4.0)
            )
            / (clicked_users + {{ z }} * {{ z }})
    end as ci_low,
    case when clicked_users > 0 then
            (
                visited_users + {{ z }} * {{ z }} / 2.0
                + {{ z }} * sqrt(visited_users * (clicked_users - visited_users) / cast(clicked_users as double) + {{ z }} * {{ z }} / 4.0)
            )
            / (clicked_users + {{ z }} * {{ z }})
    end as ci_high,
    p_value_below,
    p_value_above,
    status,
    delivery_status,
    accepted_by is not null as is_accepted,
    accepted_by,
    acceptance_reason,
    coalesce(any_stage_blocks, status in ('fail', 'no_delivery') and accepted_by is null)
    or coalesce(any_brand_blocks, false)
    or (delivery_status = 'loaded' and coalesce(profile_blocks, false)) as blocks_marts,
    case worst_check_rank
        when 5 then 'no_delivery' when 4 then 'fail' when 3 then 'warn' when 2 then 'insufficient_data' else 'ok'
    end as worst_status,
    failing_stages,
    blocking_stages,
    failing_brands,
    blocking_brands,
    coalesce(profile_status, 'insufficient_data') as profile_status,
    cast(case when profile_status = 'fail' then truncated_after_hour end as bigint) as truncated_after_hour,
    profile_p_value,
    coalesce(profile_blocks, false) and delivery_status = 'loaded' as profile_blocks
from judged
