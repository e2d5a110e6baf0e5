with units as (
    select
        'day' as period_grain,
        conversion_date as period_start,
        brand_id,
        partner,
        sampling_ratio,
        attribution_model,
        user_hash,
        sum(gmv) as gmv,
        sum(gmv_attributed) as gmv_attributed
    from "warehouse"."intermediate"."int_estimation_user_gmv"
    group by conversion_date, brand_id, partner, sampling_ratio, attribution_model, user_hash
    union all
    select
        'week' as period_grain,
        cast(cast('2000-01-03' as date) + cast(7 * floor(date_diff('day', cast('2000-01-03' as date), conversion_date) / 7) as integer) as date) as period_start,
        brand_id,
        partner,
        sampling_ratio,
        attribution_model,
        user_hash,
        sum(gmv) as gmv,
        sum(gmv_attributed) as gmv_attributed
    from "warehouse"."intermediate"."int_estimation_user_gmv"
    group by cast(cast('2000-01-03' as date) + cast(7 * floor(date_diff('day', cast('2000-01-03' as date), conversion_date) / 7) as integer) as date), brand_id, partner, sampling_ratio, attribution_model, user_hash
    union all
    select
        'month' as period_grain,
        cast(date_trunc('month', conversion_date) as date) as period_start,
        brand_id,
        partner,
        sampling_ratio,
        attribution_model,
        user_hash,
        sum(gmv) as gmv,
        sum(gmv_attributed) as gmv_attributed
    from "warehouse"."intermediate"."int_estimation_user_gmv"
    group by cast(date_trunc('month', conversion_date) as date), brand_id, partner, sampling_ratio, attribution_model, user_hash
),

blocks as (
    select
        period_grain,
        period_start,
        brand_id,
        partner,
        sampling_ratio,
        attribution_model,
        count(*) as sampled_buyers,
        sum(gmv) as gmv_sampled,
        sum(gmv_attributed) as gmv_attributed_sampled
    from units
    group by period_grain, period_start, brand_id, partner, sampling_ratio, attribution_model
),

brand_categories as (
    select
        brand_id,
        min(category) as category
    from "warehouse"."intermediate"."int_notes"
    group by brand_id
),

pool_periods as (
    select
        u.period_grain,
        u.period_start,
        u.brand_id,
        b.category,
        u.attribution_model,
        count(*) as n,
        sum(u.gmv) as s1,
        sum(u.gmv * u.gmv) as s2,
        sum(u.gmv_attributed) as a1,
        sum(u.gmv_attributed * u.gmv_attributed) as a2
    from units as u
    left join brand_categories as b on u.brand_id = b.brand_id
    group by u.period_grain, u.period_start, u.brand_id, b.category, u.attribution_model
),

programme_periods as (
    select distinct
        'day' as period_grain,
        report_date as period_start,
        partner,
        sampling_ratio
    from "warehouse"."intermediate"."int_partner_programme_days"
    union all
    select distinct
        'week' as period_grain,
        cast(cast('2000-01-03' as date) + cast(7 * floor(date_diff('day', cast('2000-01-03' as date), report_date) / 7) as integer) as date) as period_start,
        partner,
        sampling_ratio
    from "warehouse"."intermediate"."int_partner_programme_days"
    union all
    select distinct
        'month' as period_grain,
        cast(date_trunc('month', report_date) as date) as period_start,
        partner,
        sampling_ratio
    from "warehouse"."intermediate"."int_partner_programme_days"
),

brands as (
    select brand_id from brand_categories
    union
    select distinct brand_id from blocks
),

models as (
    
    select 'first_touch' as attribution_model union all
    select 'last_touch' as attribution_model union all
    select 'linear' as attribution_model union all
    select 'time_decay' as attribution_model union all
    select 'position_based' as attribution_model union all
    select 'markov' as attribution_model union all
    select 'shapley' as attribution_model
),

-- every brand in every programme block of every period, sampled buyers or not
spine as (
    select
        p.period_grain,
        p.period_start,
        b.brand_id,
        c.category,
        p.partner,
        p.sampling_ratio,
        m.attribution_model,
        coalesce(k.sampled_buyers, 0) as sampled_buyers,
        coalesce(k.gmv_sampled, 0) as gmv_sampled,
        coalesce(k.gmv_attributed_sampled, 0) as gmv_attributed_sampled
    from programme_periods as p
    cross join brands as b
    cross join models as m
    left join brand_categories as c on b.brand_id = c.brand_id
    left join blocks as k
        on p.period_grain = k.period_grain and p.period_start = k.period_start and b.brand_id = k.brand_id
            and p.partner = k.partner and p.sampling_ratio = k.sampling_ratio
            and m.attribution_model = k.attribution_model
),

targets as (
    select distinct
        period_grain,
        period_start,
        brand_id,
        category,
        attribution_model
    from spine
),

brand_pool as (
    select
        t.period_grain,
        t.period_start,
        t.brand_id,
        t.attribution_model,
        sum(q.n) as n,
        sum(q.s1) as s1,
        sum(q.s2) as s2,
        sum(q.a1) as a1,
        sum(q.a2) as a2
    from targets as t
    inner join pool_periods as q
        on t.period_grain = q.period_grain and t.brand_id = q.brand_id and t.attribution_model = q.attribution_model
            and q.period_start <= t.period_start
            and q.period_start >= case t.period_grain
                when 'day' then cast(t.period_start + cast(-27 as integer) as date)
                when 'week' then cast(t.period_start + cast(-21 as integer) as date)
                when 'month' then cast(t.period_start + cast(-62 as integer) as date)
            end
    group by t.period_grain, t.period_start, t.brand_id, t.attribution_model
),

category_pool as (
    select
        t.period_grain,
        t.period_start,
        t.category,
        t.attribution_model,
        sum(q.n) as n,
        sum(q.s1) as s1,
        sum(q.s2) as s2,
        sum(q.a1) as a1,
        sum(q.a2) as a2
    from (select distinct period_grain, period_start, category, attribution_model from targets) as t
    inner join pool_periods as q
        on t.period_grain = q.period_grain and t.category = q.category and t.attribution_model = q.attribution_model
            and q.period_start <= t.period_start
            and q.period_start >= case t.period_grain
                when 'day' then cast(t.period_start + cast(-27 as integer) as date)
                when 'week' then cast(t.period_start + cast(-21 as integer) as date)
                when 'month' then cast(t.period_start + cast(-62 as integer) as date)
            end
    group by t.period_grain, t.period_start, t.category, t.attribution_model
),

pools as (
    select
        t.period_grain,
        t.period_start,
        t.brand_id,
        t.attribution_model,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n) then 'brand'
            when c.n >= 2 then 'category'
        end as pool_source,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n)
                then cast(b.n as double)
            when c.n >= 2 then cast(c.n as double)
        end as n,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n)
                then b.s1
            when c.n >= 2 then c.s1
        end as s1,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n)
                then b.s2
            when c.n >= 2 then c.s2
        end as s2,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n)
                then b.a1
            when c.n >= 2 then c.a1
        end as a1,
        case
            when b.n >= 30 or (b.n >= 2 and coalesce(c.n, 0) <= b.n)
                then b.a2
            when c.n >= 2 then c.a2
        end as a2
    from targets as t
    left join brand_pool as b
        on t.period_grain = b.period_grain and t.period_start = b.period_start and t.brand_id = b.brand_id
            and t.attribution_model = b.attribution_model
    left join category_pool as c
        on t.period_grain = c.period_grain and t.period_start = c.period_start and t.category = c.category
            and t.attribution_model = c.attribution_model
),

pool_moments as (
    select
        period_grain,
        period_start,
        brand_id,
        attribution_model,
        pool_source,
        n as pool_buyers,
        s1 / n as gmv_mean,
        greatest((s2 - s1 * s1 / n) / (n - 1), 0) as gmv_var,
        a1 / n as gmv_attributed_mean,
        greatest((a2 - a1 * a1 / n) / (n - 1), 0) as gmv_attributed_var
    from pools
),

-- unsampled buyers per block: NegBin(r, p) moments
block_counts as (
    select
        s.*,
        s.sampled_buyers + 0.5 as r,
        (s.sampled_buyers + 0.5) * (1 - s.sampling_ratio) / s.sampling_ratio
            as unsampled_mean,
        (s.sampled_buyers + 0.5) * (1 - s.sampling_ratio)
        / (s.sampling_ratio * s.sampling_ratio) as unsampled_var
    from spine as s
),

block_moments as (
    select
        k.period_grain,
        k.period_start,
        k.brand_id,
        k.partner,
        k.attribution_model,
        k.sampling_ratio,
        k.sampled_buyers,
        k.gmv_sampled,
        k.gmv_attributed_sampled,
        k.r * ln(k.sampling_ratio) as log_p_no_unsampled,
        w.pool_buyers,
        w.pool_source,
        k.unsampled_mean * w.gmv_mean as gmv_u_mean,
        k.unsampled_mean * w.gmv_var + k.unsampled_var * w.gmv_mean * w.gmv_mean
        + (k.unsampled_var + k.unsampled_mean * k.unsampled_mean) * w.gmv_var / w.pool_buyers as gmv_u_var,
        k.unsampled_mean * w.gmv_attributed_mean as att_u_mean,
        k.unsampled_mean * w.gmv_attributed_var
        + k.unsampled_var * w.gmv_attributed_mean * w.gmv_attributed_mean
        + (k.unsampled_var + k.unsampled_mean * k.unsampled_mean) * w.gmv_attributed_var / w.pool_buyers
            as att_u_var
    from block_counts as k
    left join pool_moments as w
        on k.period_grain = w.period_grain and k.period_start = w.period_start and k.brand_id = w.brand_id
            and k.attribution_model = w.attribution_model
),

cell_blocks as (
    select * from block_moments
    union all
    select
        period_grain,
        period_start,
        brand_id,
        'all' as partner,
        attribution_model,
        sampling_ratio,
        sampled_buyers,
        gmv_sampled,
        gmv_attributed_sampled,
        log_p_no_unsampled,
        pool_buyers,
        pool_source,
        gmv_u_mean,
        gmv_u_var,
        att_u_mean,
        att_u_var
    from block_moments
),

cells as (
    select
        period_grain,
        period_start,
        brand_id,
        partner,
        attribution_model,
        min(sampling_ratio) as min_sampling_ratio,
        sum(sampled_buyers) as sampled_buyers,
        cast(sum(gmv_sampled) as double) as gmv_sampled,
        cast(sum(gmv_attributed_sampled) as double) as gmv_attributed_sampled,
        sum(log_p_no_unsampled) as log_p_no_unsampled,
        min(pool_buyers) as pool_buyers,
        min(pool_source) as pool_source,
        -- a null block moment (no pool) makes the cell's bounds null: count them
        sum(case when sampling_ratio < 1 and pool_buyers is null then 1 else 0 end) as blocks_without_pool,
        sum(case when sampling_ratio < 1 then gmv_u_mean else 0 end) as gmv_u_mean,
        sum(case when sampling_ratio < 1 then gmv_u_var else 0 end) as gmv_u_var,
        sum(case when sampling_ratio < 1 then att_u_mean else 0 end) as att_u_mean,
        sum(case when sampling_ratio < 1 then att_u_var else 0 end) as att_u_var
    from cell_blocks
    group by period_grain, period_start, brand_id, partner, attribution_model
),

-- Wilson-Hilferty factors (1 - 1/(9k) -+ z / (3 sqrt k))^3 with k = mean^2 / var
factors as (
    select
        c.*,
        c.log_p_no_unsampled >= ln(0.025) as may_have_no_unsampled,
        case when c.gmv_u_mean > 0 and c.gmv_u_var > 0 then c.gmv_u_mean * c.gmv_u_mean / c.gmv_u_var end as gmv_k,
        case when c.att_u_mean > 0 and c.att_u_var > 0 then c.att_u_mean * c.att_u_mean / c.att_u_var end as att_k
    from cells as c
)

select
    period_grain,
    period_start,
    brand_id,
    partner,
    attribution_model,
    min_sampling_ratio,
    sampled_buyers,
    pool_source,
    pool_buyers,
    gmv_sampled,
    gmv_attributed_sampled,
    case
        when blocks_without_pool > 0 then null
        when gmv_k is null or may_have_no_unsampled then gmv_sampled
        else gmv_sampled + gmv_u_mean * power(greatest(1 - 1 / (9 * gmv_k) - 1.959964 / (3 * sqrt(gmv_k)), 0), 3)
    end as gmv_estimated_ci_low,
    case
        when blocks_without_pool > 0 then null
        when gmv_k is null then gmv_sampled + gmv_u_mean
        else gmv_sampled + gmv_u_mean * power(1 - 1 / (9 * gmv_k) + 1.959964 / (3 * sqrt(gmv_k)), 3)
    end as gmv_estimated_ci_high,
    case
        when blocks_without_pool > 0 then null
        when att_k is null or may_have_no_unsampled then gmv_attributed_sampled
        else gmv_attributed_sampled + att_u_mean * power(greatest(1 - 1 / (9 * att_k) - 1.959964 / (3 * sqrt(att_k)), 0), 3)
    end as gmv_attributed_estimated_ci_low,
    case
        when blocks_without_pool > 0 then null
        when att_k is null then gmv_attributed_sampled + att_u_mean
        else gmv_attributed_sampled + att_u_mean * power(1 - 1 / (9 * att_k) + 1.959964 / (3 * sqrt(att_k)), 3)
    end as gmv_attributed_estimated_ci_high,
    case
        when min_sampling_ratio >= 1 then 'ok'
        when sampled_buyers = 0 then 'no_sampled_buyers'
        when sampled_buyers < 20 then 'small_sample'
        else 'ok'
    end as estimate_quality
from factors