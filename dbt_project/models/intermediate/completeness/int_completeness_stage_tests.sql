{{ config(**replace_dates_config('report_date')) }}
{#-
  Completeness of the callback stages other than store visits (search, add_to_cart, purchase,
  refund), per partner, report date and stage. The statistic is the stage's users x per
  reference users n the same day: users with a store-visit callback (for searches: those of them
  not landed from a link click, since clicks lead to store visits without a search). Both count
  users of the same per-user sample, so the ratio does not depend on the sampling ratio (a
  50 % -> 100 % switch leaves it unchanged), and store visits are themselves checked against the
  unsampled clicks (int_completeness_tests).

  Expectation, learned from the same partner and stage over the previous
  completeness_baseline_days calendar days (the baseline). A day qualifies when its dump
  loaded, its store-visit test did not fail and it had store-visit users; of those, days whose
  rate lies far from the median rate (more than 30 % and 6 Poisson standard deviations away:
  days that most likely lost the stage themselves) are left out, so failed days do not drag the
  expectation down. With k qualifying days, R = sum(x) / sum(n) over them, m = n R and
      expected x = m,    var(x) = m + c2 m^2    (negative binomial: Poisson sampling noise plus a
                                                 relative day-to-day variation c2)
  c2 = max(0, mean over the baseline of ((x_b - m_b)^2 - m_b) / m_b^2) (moments), and the
  variance of n R adds (n / sum n_b)^2 (sum m_b + c2 sum m_b^2). dispersion = 1 + c2 m (the
  day's variance over Poisson). t = (x - m) / sd is referred to Student's t with k - 1 degrees
  of freedom (c2 is estimated): p_value_below = P(T <= t), by Wallace's normal approximation of t and an erfc with
  relative error below 1.2e-7. test_status:
    insufficient_data  k < completeness_baseline_min_days or n R < completeness_min_expected
    fail               p_value_below < completeness_stage_alpha and x < (1 - completeness_stage_min_shortfall) n R
    ok                 otherwise (more users than expected is no completeness problem)
-#}
{%- set window = var('completeness_baseline_days') -%}

with volumes as (
    select
        report_date,
        partner,
        stage,
        stage_users
    from {{ ref('int_callback_stage_users') }}
),

visitors as (
    -- store-visit users, and of them those not counted as landed from a click (int_click_coverage):
    -- searches lead to store visits, clicks do not go through a search
    select
        v.report_date,
        v.partner,
        v.stage_users as visit_users,
        greatest(v.stage_users - coalesce(c.visited_users, 0), 0) as visit_users_without_click
    from volumes as v
    left join {{ ref('int_click_coverage') }} as c on v.report_date = c.report_date and v.partner = c.partner
    where v.stage = 'store_visit'
),

stage_days as (
    select
        v.report_date,
        v.partner,
        v.stage,
        case when v.stage = 'search' then 'store_visit_users_without_click' else 'store_visit_users' end as reference_population,
        v.stage_users,
        case when v.stage = 'search' then r.visit_users_without_click else r.visit_users end as reference_users
    from volumes as v
    inner join visitors as r on v.report_date = r.report_date and v.partner = r.partner
    where v.stage <> 'store_visit'
),

qualifying as (
    -- days fit to learn from: delivered, store visits not failed, some store-visit users
    select s.*
    from stage_days as s
    inner join {{ ref('stg_partners__deliveries') }} as d
        on s.partner = d.partner and s.report_date = d.delivery_date
    left join {{ ref('int_completeness_tests') }} as t
        on s.partner = t.partner and s.report_date = t.report_date
    where d.delivery_status = 'loaded'
        and coalesce(t.test_status, 'ok') <> 'fail'
        and s.reference_users > 0
),

judged as (
    select
        report_date,
        partner,
        stage,
        reference_population,
        stage_users,
        reference_users
    from stage_days
    where {{ when_incremental('report_date') }}
),

history as (
    select
        j.report_date,
        j.partner,
        j.stage,
        q.report_date as baseline_date,
        q.stage_users as x,
        q.reference_users as n,
        median(cast(q.stage_users as double) / q.reference_users)
            over (partition by j.report_date, j.partner, j.stage) as median_rate
    from judged as j
    inner join qualifying as q
        on j.partner = q.partner and j.stage = q.stage
            and j.report_date > q.report_date
            and q.report_date >= {{ add_days('j.report_date', -window) }}
),

kept as (
    select *
    from history
    where not (
            abs(x - n * median_rate) > 0.3 * n * median_rate
            and abs(x - n * median_rate) > 6 * sqrt(greatest(n * median_rate, 1.0))
        )
),

pooled as (
    select
        report_date,
        partner,
        stage,
        min(baseline_date) as baseline_from,
        max(baseline_date) as baseline_to,
        count(*) as baseline_days,
        sum(x) as baseline_stage_users,
        sum(n) as baseline_reference_users,
        cast(sum(x) as double) / sum(n) as baseline_rate
    from kept
    group by report_date, partner, stage
),

dispersion as (
    -- extra relative variance c2 (negative binomial, var = m + c2 m^2) by moments over the baseline
    select
        k.report_date,
        k.partner,
        k.stage,
        sum(
            ((k.x - k.n * p.baseline_rate) * (k.x - k.n * p.baseline_rate) - k.n * p.baseline_rate)
            / greatest(k.n * p.baseline_rate * k.n * p.baseline_rate, 1e-9)
        ) as excess_sum,
        sum(k.n * p.baseline_rate * k.n * p.baseline_rate) as baseline_mean_squares
    from kept as k
    inner join pooled as p on k.report_date = p.report_date and k.partner = p.partner and k.stage = p.stage
    group by k.report_date, k.partner, k.stage
),

moments as (
    select
        j.report_date,
        j.partner,
        j.stage,
        j.reference_population,
        j.stage_users,
        j.reference_users,
        p.baseline_from,
        p.baseline_to,
        coalesce(p.baseline_days, 0) as baseline_days,
        p.baseline_rate,
        case when p.baseline_days > 1 then greatest(0.0, d.excess_sum / (p.baseline_days - 1)) end as excess_variance,
        j.reference_users * p.baseline_rate as expected_users,
        p.baseline_reference_users,
        p.baseline_stage_users,
        d.baseline_mean_squares
    from judged as j
    left join pooled as p on j.report_date = p.report_date and j.partner = p.partner and j.stage = p.stage
    left join dispersion as d on j.report_date = d.report_date and j.partner = d.partner and j.stage = d.stage
),

scored as (
    select
        *,
        1 + excess_variance * expected_users as dispersion,
        -- the day's own variance, plus that of n x the estimated rate
        sqrt(
            expected_users + excess_variance * expected_users * expected_users
            + (cast(reference_users as double) / baseline_reference_users)
            * (cast(reference_users as double) / baseline_reference_users)
            * (baseline_stage_users + excess_variance * baseline_mean_squares)
        ) as expected_sd,
        case when baseline_days > 1 then baseline_days - 1 end as df
    from moments
),

t_statistic as (
    select
        *,
        case when expected_sd > 0 then (stage_users - expected_users) / expected_sd end as t_value
    from scored
),

p_values as (
    -- P(T <= t) under Student's t with df degrees of freedom (macros/statistics.sql)
    select
        *,
        {{ student_t_cdf('t_value', 'df') }} as p_value_below
    from t_statistic
)

select
    report_date,
    partner,
    stage,
    reference_population,
    reference_users,
    stage_users,
    baseline_from,
    baseline_to,
    baseline_days,
    baseline_rate,
    dispersion,
    expected_users,
    expected_sd,
    t_value,
    p_value_below,
    case
        when baseline_days < {{ var('completeness_baseline_min_days') }} then 'insufficient_data'
        when expected_users is null or expected_users < {{ var('completeness_min_expected') }} then 'insufficient_data'
        when p_value_below < {{ var('completeness_stage_alpha') }}
            and stage_users < (1 - {{ var('completeness_stage_min_shortfall') }}) * expected_users then 'fail'
        else 'ok'
    end as test_status
from p_values
