{{ config(**replace_dates_config('report_date')) }}
{#-
  Completeness per partner, report date and brand: a brand whose callbacks vanish (a mapping
  failure at the partner) while the partner's total looks fine. x = users with a callback of
  the brand (any stage) at the partner that day. Its reference: the partner's callback users
  that day (n, summed over brands) x the brand's share of the content side's exposed users
  (distinct users who touched the brand's notes that day, unsampled). Both sides are shares of
  a day's total, so a partner-wide loss, the sampling ratio (50 % -> 100 %) and a quiet day
  cancel; what is left is the brand's conversion relative to the partner's average, R, learned
  from the trailing baseline (same rules as int_completeness_stage_tests: delivered days whose
  store-visit test did not fail; days more than a factor 3 and 6 Poisson sd (log scale) from
  the median rate left out: days that lost the brand). m = reference x R.

  Brands' shares vary a lot from day to day (campaigns, notes ageing: 0-35 % beyond sampling
  noise on the generator's world), so the test is on the log scale, where a vanished brand is
  far out whatever that variation:
      y = ln(x + 0.5),  expected ln(m + 0.5),  var = c2 + 1 / (m + 0.5) + 1 / sum x_b + c2 / k
  c2 (relative day-to-day variance) by moments over the baseline's log residuals. t = residual
  / sd, referred to Student's t with k - 1 degrees of freedom (Wallace's approximation, as in the
  stage tests). Bonferroni over the brands judged that partner-day: fail when
      p_value_below < completeness_brand_alpha / judged_brands
      and x < (1 - completeness_brand_min_shortfall) m
  insufficient_data when k < completeness_baseline_min_days or m < completeness_brand_min_expected
  (small brands cannot be judged).
-#}
{%- set window = var('completeness_baseline_days') -%}

with callback_users as (
    select * from {{ ref('int_callback_brand_users') }}
),

partner_brands as (
    select distinct
        partner,
        brand_id
    from callback_users
),

exposure as (
    select * from {{ ref('int_brand_exposure') }}
),

exposure_totals as (
    select
        report_date,
        sum(exposed_users) as all_exposed_users
    from exposure
    group by report_date
),

cells as (
    select
        p.report_date,
        p.partner,
        b.brand_id
    from {{ ref('int_partner_programme_days') }} as p
    inner join partner_brands as b on p.partner = b.partner
),

brand_days as (
    select
        c.report_date,
        c.partner,
        c.brand_id,
        coalesce(u.brand_users, 0) as brand_users,
        coalesce(e.exposed_users, 0) as exposed_users,
        sum(coalesce(u.brand_users, 0)) over (partition by c.report_date, c.partner) as partner_users,
        t.all_exposed_users
    from cells as c
    left join callback_users as u
        on c.report_date = u.report_date and c.partner = u.partner and c.brand_id = u.brand_id
    left join exposure as e on c.report_date = e.report_date and c.brand_id = e.brand_id
    left join exposure_totals as t on c.report_date = t.report_date
),

referenced as (
    select
        *,
        case when all_exposed_users > 0 then partner_users * cast(exposed_users as double) / all_exposed_users else 0.0 end
            as reference_users
    from brand_days
),

qualifying as (
    select r.*
    from referenced as r
    inner join {{ ref('stg_partners__deliveries') }} as d
        on r.partner = d.partner and r.report_date = d.delivery_date
    left join {{ ref('int_completeness_tests') }} as t
        on r.partner = t.partner and r.report_date = t.report_date
    where d.delivery_status = 'loaded'
        and coalesce(t.test_status, 'ok') <> 'fail'
        and r.reference_users > 0
),

judged as (
    select *
    from referenced
    where {{ when_incremental('report_date') }}
),

history as (
    select
        j.report_date,
        j.partner,
        j.brand_id,
        q.report_date as baseline_date,
        q.brand_users as x,
        q.reference_users as n,
        median(q.brand_users / q.reference_users)
            over (partition by j.report_date, j.partner, j.brand_id) as median_rate
    from judged as j
    inner join qualifying as q
        on j.partner = q.partner and j.brand_id = q.brand_id
            and j.report_date > q.report_date
            and q.report_date >= {{ add_days('j.report_date', -window) }}
),

kept as (
    select *
    from history
    where not (
            abs(ln((x + 0.5) / (n * median_rate + 0.5))) > ln(3.0)
            and abs(ln((x + 0.5) / (n * median_rate + 0.5))) > 6 / sqrt(n * median_rate + 0.5)
        )
),

pooled as (
    select
        report_date,
        partner,
        brand_id,
        min(baseline_date) as baseline_from,
        max(baseline_date) as baseline_to,
        count(*) as baseline_days,
        sum(x) as baseline_brand_users,
        sum(x) / sum(n) as baseline_rate
    from kept
    group by report_date, partner, brand_id
),

dispersion as (
    -- relative day-to-day variance c2 (negative binomial, var = m + c2 m^2) by moments over the baseline
    select
        k.report_date,
        k.partner,
        k.brand_id,
        sum(
            ((k.x - k.n * p.baseline_rate) * (k.x - k.n * p.baseline_rate) - k.n * p.baseline_rate)
            / greatest(k.n * p.baseline_rate * k.n * p.baseline_rate, 1e-9)
        ) as excess_sum
    from kept as k
    inner join pooled as p on k.report_date = p.report_date and k.partner = p.partner and k.brand_id = p.brand_id
    group by k.report_date, k.partner, k.brand_id
),

moments as (
    select
        j.report_date,
        j.partner,
        j.brand_id,
        j.brand_users,
        j.exposed_users,
        j.partner_users,
        j.reference_users,
        p.baseline_from,
        p.baseline_to,
        coalesce(p.baseline_days, 0) as baseline_days,
        p.baseline_rate,
        p.baseline_brand_users,
        j.reference_users * p.baseline_rate as expected_users,
        case when p.baseline_days > 1 then greatest(0.0, d.excess_sum / (p.baseline_days - 1)) end as excess_variance
    from judged as j
    left join pooled as p on j.report_date = p.report_date and j.partner = p.partner and j.brand_id = p.brand_id
    left join dispersion as d on j.report_date = d.report_date and j.partner = d.partner and j.brand_id = d.brand_id
),

transformed as (
    -- the negative binomial's variance-stabilising transform g(x) = (2 / c) asinh(c sqrt(x + 3/8)),
    -- variance about 1 (c floored at 0.001: g is then 2 sqrt(x + 3/8), Anscombe's)
    select
        *,
        sqrt(greatest(excess_variance, 1e-6)) as c,
        brand_users + 0.375 as x_shift,
        expected_users + 0.375 as m_shift
    from moments
),

t_statistic as (
    select
        *,
        case when expected_users > 0 and baseline_brand_users > 0 and baseline_days > 1 then
                (
                    ln(c * sqrt(x_shift) + sqrt(c * c * x_shift + 1))
                    - ln(c * sqrt(m_shift) + sqrt(c * c * m_shift + 1))
                ) * 2 / c
                -- the estimated rate's variance, through g'(m) = 1 / sqrt(m (1 + c2 m))
                / sqrt(
                    1 + expected_users * (1.0 / baseline_brand_users + excess_variance / baseline_days)
                    / (1 + excess_variance * expected_users)
                )
        end as t_value,
        case when baseline_days > 1 then baseline_days - 1 end as df
    from transformed
),

p_values as (
    -- P(T <= t) under Student's t with df degrees of freedom (macros/statistics.sql)
    select
        *,
        {{ student_t_cdf('t_value', 'df') }} as p_value_below
    from t_statistic
),

judgeable as (
    select
        *,
        coalesce(
            baseline_days >= {{ var('completeness_baseline_min_days') }}
            and expected_users >= {{ var('completeness_brand_min_expected') }}
            and p_value_below is not null,
            false
        ) as is_judged
    from p_values
),

adjusted as (
    select
        *,
        sum(case when is_judged then 1 else 0 end) over (partition by report_date, partner) as judged_brands
    from judgeable
)

select
    report_date,
    partner,
    brand_id,
    brand_users,
    exposed_users,
    partner_users,
    reference_users,
    baseline_from,
    baseline_to,
    baseline_days,
    baseline_rate,
    excess_variance,
    expected_users,
    t_value,
    p_value_below,
    judged_brands,
    case when judged_brands > 0 then {{ var('completeness_brand_alpha') }} / judged_brands end as alpha,
    case
        when not is_judged then 'insufficient_data'
        when p_value_below < {{ var('completeness_brand_alpha') }} / judged_brands
            and brand_users < (1 - {{ var('completeness_brand_min_shortfall') }}) * expected_users then 'fail'
        else 'ok'
    end as test_status
from adjusted
