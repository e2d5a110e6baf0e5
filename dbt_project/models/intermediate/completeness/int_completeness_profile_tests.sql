{{ config(**replace_dates_config('report_date')) }}
{#-
  Within-day profile of a partner's callbacks, per partner and report date: a dump truncated at
  some hour (callbacks stop at 14:00 Asia/Shanghai) keeps its manifest consistent and may keep
  enough of the day to pass the other tests. For every cut hour H (1..23) the statistic is the
  share of the day's callbacks (every stage) at or after H:00 (business time zone):
      a_H = callbacks from H:00 to midnight,  N = the day's callbacks
  against the trailing profile of the same partner (same baseline rules as
  int_completeness_stage_tests; days whose share after 12:00 is less than half the median's are
  left out): s_H = sum a_b / sum N_b over k baseline days. Callbacks come in bursts (one user,
  several callbacks), so the binomial variance is scaled by phi_H >= 1, learned by moments:
      expected a_H = N s_H,  var = phi_H N s_H (1 - s_H) (1 + N / sum N_b)
  t = (a_H - N s_H) / sd, referred to Student's t with k - 1 degrees of freedom. A share does not
  depend on the sampling ratio or the day's volume (a quiet day keeps its profile). The day fails
  when the smallest p over the 23 cut hours is below completeness_profile_alpha / 23
  (Bonferroni) and that hour's a_H < (1 - completeness_profile_min_shortfall) N s_H.
  truncated_after_hour names the cut: one past the last hour whose callbacks reach
  (1 - completeness_profile_min_shortfall) of their expected count. insufficient_data: k <
  completeness_baseline_min_days or N s_H < completeness_min_expected for every hour.
-#}
{%- set window = var('completeness_baseline_days') -%}
{%- set shortfall = var('completeness_profile_min_shortfall') -%}

with hourly as (
    select * from {{ ref('int_callback_hours') }}
),

cut_hours as (
    select cast(k as int) as cut_hour
    from {{ integers_upto(23) }} as h
    where k >= 1
),

days as (
    select
        p.report_date,
        p.partner,
        coalesce(sum(h.callbacks), 0) as day_callbacks
    from {{ ref('int_partner_programme_days') }} as p
    left join hourly as h on p.report_date = h.report_date and p.partner = h.partner
    group by p.report_date, p.partner
),

tails as (
    -- callbacks from each cut hour to midnight, and in the hour before it
    select
        d.report_date,
        d.partner,
        c.cut_hour,
        d.day_callbacks,
        coalesce(sum(case when h.callback_hour >= c.cut_hour then h.callbacks end), 0) as after_callbacks,
        coalesce(sum(case when h.callback_hour = c.cut_hour - 1 then h.callbacks end), 0) as hour_before_callbacks
    from days as d
    cross join cut_hours as c
    left join hourly as h on d.report_date = h.report_date and d.partner = h.partner
    group by d.report_date, d.partner, c.cut_hour, d.day_callbacks
),

qualifying as (
    select t.*
    from tails as t
    inner join {{ ref('stg_partners__deliveries') }} as d
        on t.partner = d.partner and t.report_date = d.delivery_date
    left join {{ ref('int_completeness_tests') }} as s
        on t.partner = s.partner and t.report_date = s.report_date
    where d.delivery_status = 'loaded'
        and coalesce(s.test_status, 'ok') <> 'fail'
        and t.day_callbacks > 0
),

judged as (
    select *
    from tails
    where {{ when_incremental('report_date') }}
),

history as (
    select
        j.report_date,
        j.partner,
        j.cut_hour,
        q.report_date as baseline_date,
        q.after_callbacks as a,
        q.day_callbacks as n
    from judged as j
    inner join qualifying as q
        on j.partner = q.partner and j.cut_hour = q.cut_hour
            and j.report_date > q.report_date
            and q.report_date >= {{ add_days('j.report_date', -window) }}
),

noon_shares as (
    -- each baseline day's share after 12:00 against the baseline's median: a truncated day is far below
    select
        report_date,
        partner,
        baseline_date,
        cast(a as double) / n as noon_share,
        median(cast(a as double) / n) over (partition by report_date, partner) as median_noon_share
    from history
    where cut_hour = 12
),

kept as (
    select h.*
    from history as h
    inner join noon_shares as s
        on h.report_date = s.report_date and h.partner = s.partner and h.baseline_date = s.baseline_date
    where s.noon_share >= 0.5 * s.median_noon_share
),

pooled as (
    select
        report_date,
        partner,
        cut_hour,
        min(baseline_date) as baseline_from,
        max(baseline_date) as baseline_to,
        count(*) as baseline_days,
        sum(n) as baseline_callbacks,
        cast(sum(a) as double) / sum(n) as baseline_share
    from kept
    group by report_date, partner, cut_hour
),

dispersion as (
    -- phi by moments: mean of (a_b - n_b s)^2 / (n_b s (1 - s)), at least 1
    select
        k.report_date,
        k.partner,
        k.cut_hour,
        sum(
            (k.a - k.n * p.baseline_share) * (k.a - k.n * p.baseline_share)
            / greatest(k.n * p.baseline_share * (1 - p.baseline_share), 1e-9)
        ) as scaled_squares
    from kept as k
    inner join pooled as p on k.report_date = p.report_date and k.partner = p.partner and k.cut_hour = p.cut_hour
    group by k.report_date, k.partner, k.cut_hour
),

moments as (
    select
        j.report_date,
        j.partner,
        j.cut_hour,
        j.day_callbacks,
        j.after_callbacks,
        j.hour_before_callbacks,
        p.baseline_from,
        p.baseline_to,
        coalesce(p.baseline_days, 0) as baseline_days,
        p.baseline_share,
        p.baseline_callbacks,
        j.day_callbacks * p.baseline_share as expected_after,
        case when p.baseline_days > 1 then greatest(1.0, d.scaled_squares / (p.baseline_days - 1)) end as phi
    from judged as j
    left join pooled as p on j.report_date = p.report_date and j.partner = p.partner and j.cut_hour = p.cut_hour
    left join dispersion as d on j.report_date = d.report_date and j.partner = d.partner and j.cut_hour = d.cut_hour
),

t_statistic as (
    select
        *,
        case when baseline_share > 0 and baseline_share < 1 and day_callbacks > 0 and baseline_days > 1 then
                (after_callbacks - expected_after)
                / sqrt(
                    phi * expected_after * (1 - baseline_share)
                    * (1 + cast(day_callbacks as double) / baseline_callbacks)
                )
        end as t_value,
        case when baseline_days > 1 then baseline_days - 1 end as df
    from moments
),

p_values as (
    -- P(T <= t) under Student's t with df degrees of freedom (macros/statistics.sql)
    select
        *,
        {{ student_t_cdf('t_value', 'df') }} as p_value_below
    from t_statistic
),

hour_tests as (
    select
        *,
        coalesce(
            baseline_days >= {{ var('completeness_baseline_min_days') }}
            and expected_after >= {{ var('completeness_min_expected') }}
            and p_value_below is not null,
            false
        ) as is_judged,
        coalesce(
            baseline_days >= {{ var('completeness_baseline_min_days') }}
            and expected_after >= {{ var('completeness_min_expected') }}
            and p_value_below < {{ var('completeness_profile_alpha') }} / 23.0
            and after_callbacks < (1 - {{ shortfall }}) * expected_after,
            false
        ) as is_short,
        -- the hour before the cut keeps most of its expected callbacks (expected: the share between the cuts)
        hour_before_callbacks
        >= (1 - {{ shortfall }}) * day_callbacks
        * (lag(baseline_share) over (partition by report_date, partner order by cut_hour) - baseline_share) as hour_before_kept
    from p_values
),

ranked as (
    select
        *,
        row_number() over (partition by report_date, partner order by p_value_below, cut_hour) as by_p
    from hour_tests
    where is_judged
),

summary as (
    select
        report_date,
        partner,
        max(case when is_judged then 1 else 0 end) = 1 as any_judged,
        max(case when is_short then 1 else 0 end) = 1 as any_short,
        count(distinct case when is_judged then cut_hour end) as judged_hours,
        -- the cut: the latest hour whose preceding hour kept its callbacks, among the short ones
        max(case when is_short and coalesce(hour_before_kept, true) then cut_hour end) as truncated_after_hour
    from hour_tests
    group by report_date, partner
)

select
    s.report_date,
    s.partner,
    r.day_callbacks,
    r.cut_hour as worst_cut_hour,
    r.after_callbacks as worst_after_callbacks,
    r.expected_after as worst_expected_after,
    r.baseline_share as worst_baseline_share,
    r.p_value_below,
    r.baseline_from,
    r.baseline_to,
    coalesce(r.baseline_days, 0) as baseline_days,
    r.phi,
    s.judged_hours,
    case when s.any_short then coalesce(s.truncated_after_hour, r.cut_hour) end as truncated_after_hour,
    case when not s.any_judged then 'insufficient_data' when s.any_short then 'fail' else 'ok' end as test_status
from summary as s
left join ranked as r on s.report_date = r.report_date and s.partner = r.partner and r.by_p = 1
