{{ config(**replace_dates_config('report_date')) }}
{#-
  Callback completeness per report date and partner, for every day the partner runs a
  programme. Users who clicked a partner link (content side, unsampled) are the population;
  the share of them with a store-visit callback should be sampling_ratio x landing_rate.

  Test: exact one-sided binomial tails at the user level (sampling is per user):
    p_value_below = P(X <= visited | clicked, expected), p_value_above = P(X >= visited | ...).
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
{%- set alpha = var('completeness_alpha') -%}
{%- set shortfall = var('completeness_min_shortfall') -%}
{%- set z = var('completeness_z') -%}

with days as (
    -- days whose content dump is loaded: late events alone do not make a day judgeable
    select distinct delivery_date as report_date
    from {{ ref('int_touchpoints') }}
    where {{ when_incremental('delivery_date') }}
),

programme_days as (
    select d.report_date, p.partner, p.program_version, p.sampling_ratio, p.landing_rate
    from days as d
    inner join {{ ref('callback_sampling_policy') }} as p
        on d.report_date >= p.valid_from and (p.valid_to is null or d.report_date <= p.valid_to)
),

deliveries as (
    {{ union_partners('stg_PARTNER__deliveries') }}
),

acceptances as (
    select partner, report_date, accepted_by, reason, accepted_at
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
        -- keep ln() finite: a 100 % expected coverage is treated as 1 - 1e-12
        least(greatest(d.sampling_ratio * d.landing_rate, 1e-12), 1 - 1e-12) as pi,
        coalesce(c.clicked_users, 0) as clicked_users,
        coalesce(c.visited_users, 0) as visited_users,
        coalesce(dl.delivery_status, 'missing') as delivery_status,
        a.accepted_by,
        a.reason as acceptance_reason
    from programme_days as d
    left join {{ ref('int_click_coverage') }} as c
        on d.report_date = c.report_date and d.partner = c.partner
    left join deliveries as dl
        on d.report_date = dl.delivery_date and d.partner = dl.partner
    left join acceptances as a
        on d.report_date = a.report_date and d.partner = a.partner
),

terms as (
    select
        b.report_date,
        b.partner,
        f.k,
        b.visited_users,
        exp(fn.log_factorial - f.log_factorial - fnk.log_factorial
            + f.k * ln(b.pi) + (b.clicked_users - f.k) * ln(1 - b.pi)) as pmf
    from base as b
    inner join {{ ref('int_log_factorials') }} as f on f.k <= b.clicked_users
    inner join {{ ref('int_log_factorials') }} as fn on fn.k = b.clicked_users
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
),

judged as (
    select
        b.*,
        case when b.clicked_users > 0 then cast(b.visited_users as double) / b.clicked_users end as observed_coverage,
        t.p_value_below,
        t.p_value_above,
        case
            when b.delivery_status <> 'loaded' then 'no_delivery'
            when b.clicked_users * b.expected_coverage < {{ var('completeness_min_expected') }} then 'insufficient_data'
            when t.p_value_below < {{ alpha }}
                and b.visited_users < (1 - {{ shortfall }}) * b.expected_coverage * b.clicked_users then 'fail'
            when t.p_value_above < {{ alpha }}
                and b.visited_users > (1 + {{ shortfall }}) * b.expected_coverage * b.clicked_users then 'warn'
            else 'ok'
        end as status
    from base as b
    left join tails as t on b.report_date = t.report_date and b.partner = t.partner
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
        (visited_users + {{ z }} * {{ z }} / 2.0
         - {{ z }} * sqrt(visited_users * (clicked_users - visited_users) / cast(clicked_users as double) + {{ z }} * {{ z }} / 4.0))
        / (clicked_users + {{ z }} * {{ z }})
    end as ci_low,
    case when clicked_users > 0 then
        (visited_users + {{ z }} * {{ z }} / 2.0
         + {{ z }} * sqrt(visited_users * (clicked_users - visited_users) / cast(clicked_users as double) + {{ z }} * {{ z }} / 4.0))
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
