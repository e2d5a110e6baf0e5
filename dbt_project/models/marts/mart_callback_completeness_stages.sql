{{ config(**replace_dates_config('report_date')) }}
{#-
  Callback completeness per report date, partner and callback stage (search, store_visit,
  add_to_cart, purchase, refund), for every day the partner runs a programme. A companion of
  mart_callback_completeness (one row per partner-day, columns unchanged), which takes its
  blocking decision and worst status from here.

  store_visit  the exact binomial test of clicked users (int_completeness_tests); reference the
               clicked users, expected clicked x sampling_ratio x landing_rate
  other stages the reference users with a callback of the stage that day (search: store-visit
               users not landed from a click; add_to_cart: store-visit users; purchase:
               add-to-cart users; refund: every refund user per store-visit user) against a
               trailing baseline of the same partner (int_completeness_stage_tests)
  status: no_delivery when the partner's dump did not arrive, else the stage's test_status
  (ok, warn, fail, insufficient_data). expected_low/expected_high: the range of a complete
  day's count (expected -/+ completeness_z standard deviations), for display.
  Acceptances (`redcat accept`) name a stage or, without one, the whole partner-day: the status
  stays, is_accepted is set and the stage no longer blocks the marts.
-#}
{%- set z = var('completeness_z') -%}

with days as (
    -- days whose content dump is loaded: late events alone do not make a day judgeable
    select distinct delivery_date as report_date
    from {{ ref('int_touchpoints') }}
    where {{ when_incremental('delivery_date') }}
),

cells as (
    select
        d.report_date,
        p.partner,
        p.program_version,
        p.sampling_ratio,
        k.event_type as stage,
        k.stage_order
    from days as d
    inner join {{ ref('int_partner_programme_days') }} as p on d.report_date = p.report_date
    cross join {{ ref('callback_event_types') }} as k
),

store_visits as (
    select
        report_date,
        partner,
        'store_visit' as stage,
        'clicked_users' as reference_population,
        true as is_linked,
        clicked_users as reference_users,
        visited_users as observed_users,
        clicked_users * expected_coverage as expected_users,
        sqrt(clicked_users * expected_coverage * (1 - expected_coverage)) as expected_sd,
        p_value_below,
        cast(null as date) as baseline_from,
        cast(null as date) as baseline_to,
        cast(null as bigint) as baseline_days,
        expected_coverage as baseline_rate,
        cast(null as double) as dispersion,
        test_status
    from {{ ref('int_completeness_tests') }}
    where {{ when_incremental('report_date') }}
),

other_stages as (
    select
        report_date,
        partner,
        stage,
        reference_population,
        is_linked,
        reference_users,
        linked_users as observed_users,
        expected_users,
        expected_sd,
        p_value_below,
        baseline_from,
        baseline_to,
        baseline_days,
        baseline_rate,
        dispersion,
        test_status
    from {{ ref('int_completeness_stage_tests') }}
    where {{ when_incremental('report_date') }}
),

tests as (
    select * from store_visits
    union all
    select * from other_stages
),

acceptances as (
    select
        partner,
        report_date,
        stage,
        accepted_by,
        reason,
        accepted_at
    from {{ ref('stg_operator__completeness_acceptances') }}
),

stage_acceptances as (
    -- the latest acceptance that covers the stage: one naming it, or one of the whole day
    select
        c.report_date,
        c.partner,
        c.stage,
        a.accepted_by,
        a.reason,
        row_number() over (partition by c.report_date, c.partner, c.stage order by a.accepted_at desc) as latest
    from cells as c
    inner join acceptances as a
        on c.report_date = a.report_date and c.partner = a.partner
            and (a.stage is null or c.stage = a.stage)
),

judged as (
    select
        c.report_date,
        c.partner,
        c.stage,
        c.stage_order,
        c.program_version,
        c.sampling_ratio,
        t.reference_population,
        t.is_linked,
        coalesce(t.reference_users, 0) as reference_users,
        coalesce(t.observed_users, 0) as observed_users,
        t.expected_users,
        t.expected_sd,
        t.p_value_below,
        t.baseline_from,
        t.baseline_to,
        coalesce(t.baseline_days, 0) as baseline_days,
        t.baseline_rate,
        t.dispersion,
        coalesce(t.test_status, 'insufficient_data') as test_status,
        coalesce(dl.delivery_status, 'missing') as delivery_status,
        a.accepted_by,
        a.reason as acceptance_reason
    from cells as c
    left join tests as t
        on c.report_date = t.report_date and c.partner = t.partner and c.stage = t.stage
    left join {{ ref('stg_partners__deliveries') }} as dl
        on c.report_date = dl.delivery_date and c.partner = dl.partner
    left join stage_acceptances as a
        on c.report_date = a.report_date and c.partner = a.partner and c.stage = a.stage and a.latest = 1
)

select
    report_date,
    partner,
    stage,
    cast(stage_order as bigint) as stage_order,
    program_version,
    sampling_ratio,
    reference_population,
    is_linked,
    cast(reference_users as bigint) as reference_users,
    cast(observed_users as bigint) as observed_users,
    cast(expected_users as double) as expected_users,
    cast(greatest(expected_users - {{ z }} * expected_sd, 0) as double) as expected_low,
    cast(expected_users + {{ z }} * expected_sd as double) as expected_high,
    cast(case when expected_users > 0 then observed_users / expected_users end as double) as observed_share,
    cast(p_value_below as double) as p_value_below,
    baseline_from,
    baseline_to,
    cast(baseline_days as bigint) as baseline_days,
    cast(baseline_rate as double) as baseline_rate,
    cast(dispersion as double) as dispersion,
    case when delivery_status <> 'loaded' then 'no_delivery' else test_status end as status,
    delivery_status,
    accepted_by is not null as is_accepted,
    accepted_by,
    acceptance_reason,
    (delivery_status <> 'loaded' or test_status = 'fail') and accepted_by is null as blocks_marts
from judged
