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
  An operator's acceptance (`redcat accept`) keeps the status but sets is_accepted, so the
  day no longer blocks the marts.
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
    ) as a
    where latest = 1
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
        a.reason as acceptance_reason
    from programme_days as d
    left join {{ ref('int_completeness_tests') }} as t
        on d.report_date = t.report_date and d.partner = t.partner
    left join deliveries as dl
        on d.report_date = dl.delivery_date and d.partner = dl.partner
    left join acceptances as a
        on d.report_date = a.report_date and d.partner = a.partner
),

judged as (
    select
        *,
        case when delivery_status <> 'loaded' then 'no_delivery' else test_status end as status
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
    status in ('fail', 'no_delivery') and accepted_by is null as blocks_marts
from judged
