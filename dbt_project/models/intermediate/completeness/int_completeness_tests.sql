{{ config(**replace_dates_config('report_date')) }}
{#-
  The statistics of the completeness check, per click date and partner (only days with clicks;
  the mart adds arrival status and acceptances). Sampling is per user, so the test is at the
  user level: X = users with a store-visit callback among N users who clicked, expected
  p = sampling_ratio x landing_rate.
    p_value_below = P(X <= x | N, p), p_value_above = P(X >= x | N, p)   (exact binomial)
  The tails are summed over the binomial terms within 40 standard deviations of x: the terms
  beyond are below e^-800 of the nearest one. test_status:
    insufficient_data  N x p < completeness_min_expected
    fail               p_value_below < completeness_alpha and x < (1 - completeness_min_shortfall) N p
    warn               p_value_above < completeness_alpha and x > (1 + completeness_min_shortfall) N p
    ok                 otherwise
-#}
{%- set alpha = var('completeness_alpha') -%}
{%- set shortfall = var('completeness_min_shortfall') -%}

with coverage as (
    select
        c.report_date,
        c.partner,
        c.clicked_users,
        c.visited_users,
        p.program_version,
        p.sampling_ratio,
        p.landing_rate,
        p.sampling_ratio * p.landing_rate as expected_coverage,
        -- keep ln() finite: a 100 % expected coverage is treated as 1 - 1e-12
        least(greatest(p.sampling_ratio * p.landing_rate, 1e-12), 1 - 1e-12) as pi
    from {{ ref('int_click_coverage') }} as c
    inner join {{ ref('callback_sampling_policy') }} as p
        on c.partner = p.partner
            and c.report_date >= p.valid_from
            and (p.valid_to is null or c.report_date <= p.valid_to)
    where {{ when_incremental('c.report_date') }}
),

bounded as (
    select
        *,
        cast(ceil(40 * sqrt(clicked_users * pi * (1 - pi))) + 10 as bigint) as half_width
    from coverage
),

terms as (
    select
        b.report_date,
        b.partner,
        f.k,
        b.visited_users,
        exp(
            fn.log_factorial - f.log_factorial - fnk.log_factorial
            + f.k * ln(b.pi) + (b.clicked_users - f.k) * ln(1 - b.pi)
        ) as pmf
    from bounded as b
    inner join {{ ref('int_log_factorials') }} as f
        on f.k >= greatest(0, b.visited_users - b.half_width)
            and f.k <= least(b.clicked_users, b.visited_users + b.half_width)
    inner join {{ ref('int_log_factorials') }} as fn on b.clicked_users = fn.k
    inner join {{ ref('int_log_factorials') }} as fnk on fnk.k = b.clicked_users - f.k
),

tails as (
    select
        report_date,
        partner,
        least(1.0, sum(case when k <= visited_users then pmf else 0.0 end)) as p_value_below,
        least(1.0, sum(case when k >= visited_users then pmf else 0.0 end)) as p_value_above
    from terms
    group by report_date, partner
)

select
    b.report_date,
    b.partner,
    b.program_version,
    b.sampling_ratio,
    b.landing_rate,
    b.clicked_users,
    b.visited_users,
    case when b.clicked_users > 0 then cast(b.visited_users as double) / b.clicked_users end as observed_coverage,
    b.expected_coverage,
    t.p_value_below,
    t.p_value_above,
    case
        when b.clicked_users * b.expected_coverage < {{ var('completeness_min_expected') }} then 'insufficient_data'
        when t.p_value_below < {{ alpha }}
            and b.visited_users < (1 - {{ shortfall }}) * b.expected_coverage * b.clicked_users then 'fail'
        when t.p_value_above < {{ alpha }}
            and b.visited_users > (1 + {{ shortfall }}) * b.expected_coverage * b.clicked_users then 'warn'
        else 'ok'
    end as test_status
from bounded as b
left join tails as t on b.report_date = t.report_date and b.partner = t.partner
