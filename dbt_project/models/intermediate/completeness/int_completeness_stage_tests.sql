{{ config(**replace_dates_config('report_date')) }}
{#-
  Completeness of the callback stages other than store visits (search, add_to_cart, purchase,
  refund), per partner, report date and stage. The statistic is x, the reference users of the
  day who had a callback of the stage, out of n reference users (int_callback_stage_links:
  search among store-visit users not landed from a click, add_to_cart among store-visit users,
  purchase among add-to-cart users, linked by user; refund users per store-visit user, not
  linked). Both count users of the same per-user sample, so the share does not depend on the
  sampling ratio (a 50 % -> 100 % switch leaves it unchanged), and store visits are themselves
  checked against the unsampled clicks (int_completeness_tests).

  Expectation, learned from the same partner and stage over the previous
  completeness_baseline_days calendar days (the baseline). A day qualifies when its dump
  loaded, its store-visit test did not fail and it had reference users; of those, days whose
  share lies far from the median share (more than 30 % and 6 Poisson standard deviations away:
  days that most likely lost the stage themselves) are left out, so failed days do not drag the
  expectation down. With k qualifying days, R = sum(x) / sum(n) over them, m = n R and
      expected x = m,    var(x) = m q + c2 m^2
  q = 1 - R for a linked stage (binomial: x counts users of the reference; R from
  (sum x + 1/2) / (sum n + 1), so q > 0 even when every reference user had the stage), q = 1 for
  refunds (Poisson), plus a relative day-to-day variation c2 learned from the baseline by moments
  (c2 = max(0, mean of ((x_b - m_b)^2 - m_b q) / m_b^2)); the variance of n R adds
  (n / sum n_b)^2 (sum x_b q + c2 sum m_b^2). dispersion = 1 + c2 m / q (the day's variance over
  its sampling variance). t = (x - m) / sd is referred to Student's t with k - 1 degrees of
  freedom (c2 is estimated): p_value_below = P(T <= t), by Wallace's normal approximation of t
  and an erfc with relative error below 1.2e-7. test_status:
    insufficient_data  k < completeness_baseline_min_days or n R < completeness_min_expected
    fail               p_value_below < completeness_stage_alpha and x < (1 - completeness_stage_min_shortfall) n R
    ok                 otherwise (more users than expected is no completeness problem)
-#}
{%- set window = var('completeness_baseline_days') -%}

with stage_days as (
    select
        report_date,
        partner,
        stage,
        reference_population,
        is_linked,
        linked_users,
        reference_users
    from {{ ref('int_callback_stage_links') }}
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
        is_linked,
        linked_users,
        reference_users
    from stage_days
    where {{ when_incremental('report_date') }}
),

history as (
    select
        j.report_date,
        j.partner,
        j.stage,
        j.is_linked,
        q.report_date as baseline_date,
        q.linked_users as x,
        q.reference_users as n,
        median(cast(q.linked_users as double) / q.reference_users)
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
        sum(x) as baseline_linked_users,
        sum(n) as baseline_reference_users,
        cast(sum(x) as double) / sum(n) as baseline_rate,
        -- a linked count is binomial (variance m (1 - R)); refunds, not linked, Poisson (m)
        case
            when is_linked then 1 - (cast(sum(x) as double) + 0.5) / (cast(sum(n) as double) + 1)
            else cast(1 as double)
        end as sampling_factor
    from kept
    group by report_date, partner, stage, is_linked
),

dispersion as (
    -- extra relative variance c2 (var = m q + c2 m^2) by moments over the baseline
    select
        k.report_date,
        k.partner,
        k.stage,
        sum(
            ((k.x - k.n * p.baseline_rate) * (k.x - k.n * p.baseline_rate) - k.n * p.baseline_rate * p.sampling_factor)
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
        j.is_linked,
        j.linked_users,
        j.reference_users,
        p.baseline_from,
        p.baseline_to,
        coalesce(p.baseline_days, 0) as baseline_days,
        p.baseline_rate,
        p.sampling_factor,
        case when p.baseline_days > 1 then greatest(0.0, d.excess_sum / (p.baseline_days - 1)) end as excess_variance,
        j.reference_users * p.baseline_rate as expected_users,
        p.baseline_reference_users,
        p.baseline_linked_users,
        d.baseline_mean_squares
    from judged as j
    left join pooled as p on j.report_date = p.report_date and j.partner = p.partner and j.stage = p.stage
    left join dispersion as d on j.report_date = d.report_date and j.partner = d.partner and j.stage = d.stage
),

scored as (
    select
        *,
        1 + excess_variance * expected_users / sampling_factor as dispersion,
        -- the day's own variance, plus that of n x the estimated rate
        sqrt(
            expected_users * sampling_factor + excess_variance * expected_users * expected_users
            + (cast(reference_users as double) / baseline_reference_users)
            * (cast(reference_users as double) / baseline_reference_users)
            * (baseline_linked_users * sampling_factor + excess_variance * baseline_mean_squares)
        ) as expected_sd,
        case when baseline_days > 1 then baseline_days - 1 end as df
    from moments
),

t_statistic as (
    select
        *,
        case when expected_sd > 0 then (linked_users - expected_users) / expected_sd end as t_value
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
    is_linked,
    reference_users,
    linked_users,
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
            and linked_users < (1 - {{ var('completeness_stage_min_shortfall') }}) * expected_users then 'fail'
        else 'ok'
    end as test_status
from p_values
