{#-
  Estimated GMV and attributed GMV with 95 % intervals per period (day, ISO week from Monday,
  month), brand, partner and attribution model; partner 'all' is the brand's total over its
  partners. The one place the interval is computed (docs/estimation.md):
    A cell's buyers split into n sampled ones (observed total S) and M unsampled ones. Per
    block of constant sampling ratio p (q = 1 - p), M ~ NegBin(r = n + prior, p):
      E[M] = r q / p,  Var[M] = r q / p^2.
    The unsampled buyers' GMV per buyer (mean mu, variance s2) comes from the brand's pool of
    sampled buyers over the trailing estimation_pool_days (the category's below
    estimation_pool_min_buyers buyers), n_pool buyers:
      mean_u = E[M] mu,  var_u = E[M] s2 + Var[M] mu^2 + E[M^2] s2 / n_pool.
    Blocks (ratio changes inside a period, partners) add mean_u and var_u. The unsampled part
    U is taken gamma with that mean and variance (shape k = mean_u^2 / var_u), its quantiles
    by Wilson-Hilferty: mean_u (1 - 1/(9k) +- z / (3 sqrt k))^3, the lower one at least 0,
    and exactly 0 when P(M = 0) = prod p^r >= 2.5 %. ci = S + quantiles of U; at p = 1 both
    equal S. Bounds in CNY, rounded to the fen. Without any pool (no buyer of the brand or its category) the bounds are null.
  estimate_quality: ok (p = 1, or n >= estimation_min_sampled_buyers), small_sample,
  no_sampled_buyers (n = 0 with p < 1, or no programme).
-#}
{%- set grains = ['day', 'week', 'month'] -%}
{%- set z = var('estimation_z') -%}
{%- set pool_days = var('estimation_pool_days') -%}

with units as (
    {%- for grain in grains %}
        select
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'conversion_date') }} as period_start,
            brand_id,
            partner,
            sampling_ratio,
            attribution_model,
            user_hash,
            sum(gmv) as gmv,
            sum(gmv_attributed) as gmv_attributed
        from {{ ref('int_estimation_user_gmv') }}
        group by {{ period_start(grain, 'conversion_date') }}, brand_id, partner, sampling_ratio, attribution_model, user_hash
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
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
    from {{ ref('int_notes') }}
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
    {%- for grain in grains %}
        select distinct
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'report_date') }} as period_start,
            partner,
            sampling_ratio
        from {{ ref('int_partner_programme_days') }}
        -- from the first loaded purchase on, not every programme day since the first policy
        where report_date >= (select min(u.conversion_date) from {{ ref('int_estimation_user_gmv') }} as u)
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

brands as (
    select brand_id from brand_categories
    union
    select distinct brand_id from blocks
),

models as (
    {{ attribution_models_relation() }}
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

-- a pool per level: the brand's own sampled buyers, and its category's (of every brand in it)
level_periods as (
    select
        'brand' as pool_level,
        brand_id as pool_key,
        period_grain,
        period_start,
        attribution_model,
        n,
        s1,
        s2,
        a1,
        a2
    from pool_periods
    union all
    select
        'category' as pool_level,
        category as pool_key,
        period_grain,
        period_start,
        attribution_model,
        n,
        s1,
        s2,
        a1,
        a2
    from pool_periods
    where category is not null
),

level_targets as (
    select distinct
        period_grain,
        period_start,
        'brand' as pool_level,
        brand_id as pool_key,
        attribution_model
    from targets
    union
    select distinct
        period_grain,
        period_start,
        'category' as pool_level,
        category as pool_key,
        attribution_model
    from targets
    where category is not null
),

-- over the trailing estimation_pool_days of the period's grain
level_pools as (
    select
        t.period_grain,
        t.period_start,
        t.pool_level,
        t.pool_key,
        t.attribution_model,
        sum(q.n) as n,
        sum(q.s1) as s1,
        sum(q.s2) as s2,
        sum(q.a1) as a1,
        sum(q.a2) as a2
    from level_targets as t
    inner join level_periods as q
        on t.pool_level = q.pool_level and t.pool_key = q.pool_key and t.period_grain = q.period_grain
            and t.attribution_model = q.attribution_model
            and t.period_start >= q.period_start
            and q.period_start >= case t.period_grain
                {%- for grain in grains %}
                    when '{{ grain }}' then {{ add_days('t.period_start', -pool_days[grain]) }}
                {%- endfor %}
            end
    group by t.period_grain, t.period_start, t.pool_level, t.pool_key, t.attribution_model
),

-- the brand's pool when it has estimation_pool_min_buyers buyers (or at least 2 and no fewer than
-- its category), else the category's when it has 2
pool_sources as (
    select
        t.period_grain,
        t.period_start,
        t.brand_id,
        t.attribution_model,
        case
            when b.n >= {{ var('estimation_pool_min_buyers') }} or (b.n >= 2 and coalesce(c.n, 0) <= b.n) then 'brand'
            when c.n >= 2 then 'category'
        end as pool_source,
        case
            when b.n >= {{ var('estimation_pool_min_buyers') }} or (b.n >= 2 and coalesce(c.n, 0) <= b.n) then t.brand_id
            when c.n >= 2 then t.category
        end as pool_key
    from targets as t
    left join level_pools as b
        on b.pool_level = 'brand' and t.brand_id = b.pool_key and t.period_grain = b.period_grain
            and t.period_start = b.period_start and t.attribution_model = b.attribution_model
    left join level_pools as c
        on c.pool_level = 'category' and t.category = c.pool_key and t.period_grain = c.period_grain
            and t.period_start = c.period_start and t.attribution_model = c.attribution_model
),

pools as (
    select
        s.period_grain,
        s.period_start,
        s.brand_id,
        s.attribution_model,
        s.pool_source,
        cast(q.n as double) as n,
        q.s1,
        q.s2,
        q.a1,
        q.a2
    from pool_sources as s
    inner join level_pools as q
        on s.pool_source = q.pool_level and s.pool_key = q.pool_key and s.period_grain = q.period_grain
            and s.period_start = q.period_start and s.attribution_model = q.attribution_model
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
        s.sampled_buyers + {{ var('estimation_prior_buyers') }} as r,
        (s.sampled_buyers + {{ var('estimation_prior_buyers') }}) * (1 - s.sampling_ratio) / s.sampling_ratio
            as unsampled_mean,
        (s.sampled_buyers + {{ var('estimation_prior_buyers') }}) * (1 - s.sampling_ratio)
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
        cast(sum(gmv_sampled / sampling_ratio) as double) as gmv_estimated,
        cast(sum(gmv_attributed_sampled / sampling_ratio) as double) as gmv_attributed_estimated,
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
    gmv_estimated,
    gmv_attributed_estimated,
    round(case
        when blocks_without_pool > 0 then null
        when gmv_k is null or may_have_no_unsampled then gmv_sampled
        else gmv_sampled + gmv_u_mean * power(greatest(1 - 1 / (9 * gmv_k) - {{ z }} / (3 * sqrt(gmv_k)), 0), 3)
    end, 2) as gmv_estimated_ci_low,
    round(case
        when blocks_without_pool > 0 then null
        when gmv_k is null then gmv_sampled + gmv_u_mean
        else gmv_sampled + gmv_u_mean * power(1 - 1 / (9 * gmv_k) + {{ z }} / (3 * sqrt(gmv_k)), 3)
    end, 2) as gmv_estimated_ci_high,
    round(case
        when blocks_without_pool > 0 then null
        when att_k is null or may_have_no_unsampled then gmv_attributed_sampled
        else gmv_attributed_sampled + att_u_mean * power(greatest(1 - 1 / (9 * att_k) - {{ z }} / (3 * sqrt(att_k)), 0), 3)
    end, 2) as gmv_attributed_estimated_ci_low,
    round(case
        when blocks_without_pool > 0 then null
        when att_k is null then gmv_attributed_sampled + att_u_mean
        else gmv_attributed_sampled + att_u_mean * power(1 - 1 / (9 * att_k) + {{ z }} / (3 * sqrt(att_k)), 3)
    end, 2) as gmv_attributed_estimated_ci_high,
    case
        when min_sampling_ratio >= 1 then 'ok'
        when sampled_buyers = 0 then 'no_sampled_buyers'
        when sampled_buyers < {{ var('estimation_min_sampled_buyers') }} then 'small_sample'
        else 'ok'
    end as estimate_quality
from factors
