{#-
  Per report date, note and attribution model: the GMV the model credits to the note, estimated
  (Horvitz-Thompson) and with a 95 % interval of the unsampled truth, by the method of
  int_estimation_cells (docs/estimation.md) applied to the note's buyers:
    A note-day's buyers (users with an eligible touch on the note who bought from the brand,
    whatever their credit) split into n sampled ones (credited total S) and M unsampled ones.
    Per block of constant sampling ratio p (a partner's programme), M ~ NegBin(r = n + prior, p).
    The GMV a missed buyer gets credited to the note (mean mu, variance s2, zeros included) comes
    from the brand's pool of sampled buyer-note-days over the trailing estimation_pool_days days
    (the category's below estimation_pool_min_buyers), n_pool of them:
      mean_u = E[M] mu,  var_u = E[M] s2 + Var[M] mu^2 + E[M^2] s2 / n_pool.
    Blocks (every partner the brand sold at over the trailing pool window, with or without sampled
    buyers that day) add
    mean_u and var_u; U is gamma with those moments, Wilson-Hilferty
    quantiles, the lower one exactly 0 when P(M = 0) = prod p^r >= 2.5 %. ci = S + quantiles
    of U; at p = 1 both equal S. Rounded to the fen; null without any pool.
  Only note-days with at least one sampled buyer have a row: mart_note_daily shows the others
  with null bounds and estimate_quality no_sampled_buyers.
-#}
{%- set z = var('estimation_z') -%}
{%- set min_pool = var('estimation_pool_min_buyers') -%}
{%- set pool_days = var('estimation_pool_days')['day'] -%}

with units as (
    select
        u.conversion_date,
        u.brand_id,
        u.note_id,
        n.category,
        u.partner,
        u.sampling_ratio,
        u.attribution_model,
        u.user_hash,
        -- exact decimals from here on: sums of doubles differ in the last bits with the order DuckDB
        -- adds them in, and a bound rounded to the fen would flip between runs of the same data
        cast(u.gmv_attributed as decimal(38, 6)) as gmv_attributed
    from {{ ref('int_estimation_note_user_gmv') }} as u
    left join {{ ref('int_notes') }} as n on u.note_id = n.note_id
),

sampled_blocks as (
    select
        conversion_date,
        brand_id,
        note_id,
        min(category) as category,
        partner,
        sampling_ratio,
        attribution_model,
        count(*) as sampled_buyers,
        sum(gmv_attributed) as gmv_attributed_sampled
    from units
    group by conversion_date, brand_id, note_id, partner, sampling_ratio, attribution_model
),

-- the partners a brand sells at (a sampled buyer over the trailing pool window, as of the date: a
-- date's row must not depend on later dates, or a day-by-day run would differ from a range run): a
-- note-day with sampled buyers at one of them may have unsampled buyers at the others, so each is
-- a block, with 0 sampled buyers or more
brand_partner_days as (
    select distinct
        conversion_date,
        brand_id,
        partner
    from units
),

block_keys as (
    select
        conversion_date,
        brand_id,
        note_id,
        category,
        partner,
        sampling_ratio,
        attribution_model
    from sampled_blocks
    union
    select
        d.conversion_date,
        d.brand_id,
        d.note_id,
        d.category,
        p.partner,
        p.sampling_ratio,
        d.attribution_model
    from (
        select distinct
            conversion_date,
            brand_id,
            note_id,
            category,
            attribution_model
        from sampled_blocks
    ) as d
    inner join (
        select distinct
            t.conversion_date,
            t.brand_id,
            b.partner
        from (
            select distinct
                conversion_date,
                brand_id
            from sampled_blocks
        ) as t
        inner join brand_partner_days as b
            on t.brand_id = b.brand_id
                and t.conversion_date >= b.conversion_date
                and b.conversion_date >= {{ add_days('t.conversion_date', -pool_days) }}
    ) as bp on d.conversion_date = bp.conversion_date and d.brand_id = bp.brand_id
    inner join {{ ref('int_partner_programme_days') }} as p
        on bp.partner = p.partner and d.conversion_date = p.report_date
),

blocks as (
    select
        k.conversion_date,
        k.brand_id,
        k.note_id,
        k.category,
        k.partner,
        k.sampling_ratio,
        k.attribution_model,
        coalesce(s.sampled_buyers, 0) as sampled_buyers,
        coalesce(s.gmv_attributed_sampled, 0) as gmv_attributed_sampled
    from block_keys as k
    left join sampled_blocks as s
        on k.conversion_date = s.conversion_date and k.note_id = s.note_id and k.partner = s.partner
            and k.sampling_ratio = s.sampling_ratio and k.attribution_model = s.attribution_model
),

pool_days as (
    select
        conversion_date,
        brand_id,
        min(category) as category,
        attribution_model,
        count(*) as n,
        sum(gmv_attributed) as a1,
        sum(gmv_attributed * gmv_attributed) as a2
    from units
    group by conversion_date, brand_id, attribution_model
),

targets as (
    select distinct
        conversion_date,
        brand_id,
        category,
        attribution_model
    from blocks
),

-- a pool per level: the brand's own sampled buyer-note-days, and its category's (of every brand in it)
level_days as (
    select
        'brand' as pool_level,
        brand_id as pool_key,
        conversion_date,
        attribution_model,
        n,
        a1,
        a2
    from pool_days
    union all
    select
        'category' as pool_level,
        category as pool_key,
        conversion_date,
        attribution_model,
        n,
        a1,
        a2
    from pool_days
    where category is not null
),

level_targets as (
    select distinct
        conversion_date,
        'brand' as pool_level,
        brand_id as pool_key,
        attribution_model
    from targets
    union
    select distinct
        conversion_date,
        'category' as pool_level,
        category as pool_key,
        attribution_model
    from targets
    where category is not null
),

-- over the trailing estimation_pool_days (day)
level_pools as (
    select
        t.conversion_date,
        t.pool_level,
        t.pool_key,
        t.attribution_model,
        sum(q.n) as n,
        sum(q.a1) as a1,
        sum(q.a2) as a2
    from level_targets as t
    inner join level_days as q
        on t.pool_level = q.pool_level and t.pool_key = q.pool_key and t.attribution_model = q.attribution_model
            and t.conversion_date >= q.conversion_date
            and q.conversion_date >= {{ add_days('t.conversion_date', -pool_days) }}
    group by t.conversion_date, t.pool_level, t.pool_key, t.attribution_model
),

-- the rule of int_estimation_cells: the brand's pool when it has estimation_pool_min_buyers (or at
-- least 2 and no fewer than its category), else the category's when it has 2
pool_sources as (
    select
        t.conversion_date,
        t.brand_id,
        t.attribution_model,
        case
            when b.n >= {{ min_pool }} or (b.n >= 2 and coalesce(c.n, 0) <= b.n) then 'brand'
            when c.n >= 2 then 'category'
        end as pool_source,
        case
            when b.n >= {{ min_pool }} or (b.n >= 2 and coalesce(c.n, 0) <= b.n) then t.brand_id
            when c.n >= 2 then t.category
        end as pool_key
    from targets as t
    left join level_pools as b
        on b.pool_level = 'brand' and t.brand_id = b.pool_key and t.conversion_date = b.conversion_date
            and t.attribution_model = b.attribution_model
    left join level_pools as c
        on c.pool_level = 'category' and t.category = c.pool_key and t.conversion_date = c.conversion_date
            and t.attribution_model = c.attribution_model
),

pools as (
    select
        s.conversion_date,
        s.brand_id,
        s.attribution_model,
        s.pool_source,
        cast(q.n as double) as n,
        cast(q.a1 as double) as a1,
        cast(q.a2 as double) as a2
    from pool_sources as s
    inner join level_pools as q
        on s.pool_source = q.pool_level and s.pool_key = q.pool_key and s.conversion_date = q.conversion_date
            and s.attribution_model = q.attribution_model
),

pool_moments as (
    select
        conversion_date,
        brand_id,
        attribution_model,
        pool_source,
        n as pool_buyers,
        a1 / n as att_mean,
        greatest((a2 - a1 * a1 / n) / (n - 1), 0) as att_var
    from pools
),

block_counts as (
    select
        k.*,
        k.sampled_buyers + {{ var('estimation_prior_buyers') }} as r,
        (k.sampled_buyers + {{ var('estimation_prior_buyers') }}) * (1 - k.sampling_ratio) / k.sampling_ratio
            as unsampled_mean,
        (k.sampled_buyers + {{ var('estimation_prior_buyers') }}) * (1 - k.sampling_ratio)
        / (k.sampling_ratio * k.sampling_ratio) as unsampled_var
    from blocks as k
),

block_moments as (
    select
        k.conversion_date,
        k.brand_id,
        k.note_id,
        k.attribution_model,
        k.sampling_ratio,
        k.sampled_buyers,
        k.gmv_attributed_sampled,
        k.r * ln(k.sampling_ratio) as log_p_no_unsampled,
        w.pool_buyers,
        w.pool_source,
        k.unsampled_mean * w.att_mean as att_u_mean,
        k.unsampled_mean * w.att_var + k.unsampled_var * w.att_mean * w.att_mean
        + (k.unsampled_var + k.unsampled_mean * k.unsampled_mean) * w.att_var / w.pool_buyers as att_u_var
    from block_counts as k
    left join pool_moments as w
        on k.conversion_date = w.conversion_date and k.brand_id = w.brand_id
            and k.attribution_model = w.attribution_model
),

cells as (
    select
        conversion_date,
        brand_id,
        note_id,
        attribution_model,
        min(sampling_ratio) as min_sampling_ratio,
        sum(sampled_buyers) as sampled_buyers,
        cast(sum(gmv_attributed_sampled) as double) as gmv_attributed_sampled,
        cast(sum(gmv_attributed_sampled / sampling_ratio) as double) as gmv_attributed_estimated,
        sum(log_p_no_unsampled) as log_p_no_unsampled,
        min(pool_buyers) as pool_buyers,
        min(pool_source) as pool_source,
        sum(case when sampling_ratio < 1 and pool_buyers is null then 1 else 0 end) as blocks_without_pool,
        -- summed as decimals, in any order the same
        cast(sum(case when sampling_ratio < 1 then cast(att_u_mean as decimal(38, 6)) else 0 end) as double)
            as att_u_mean,
        cast(sum(case when sampling_ratio < 1 then cast(att_u_var as decimal(38, 6)) else 0 end) as double)
            as att_u_var
    from block_moments
    group by conversion_date, brand_id, note_id, attribution_model
),

factors as (
    select
        c.*,
        c.log_p_no_unsampled >= ln(0.025) as may_have_no_unsampled,
        case when c.att_u_mean > 0 and c.att_u_var > 0 then c.att_u_mean * c.att_u_mean / c.att_u_var end as att_k
    from cells as c
)

select
    conversion_date as report_date,
    brand_id,
    note_id,
    attribution_model,
    min_sampling_ratio,
    sampled_buyers,
    pool_source,
    pool_buyers,
    gmv_attributed_sampled,
    gmv_attributed_estimated,
    -- to the fen half-up on a decimal: a credit like 20.95 / 2 is 10.475, which a double holds as
    -- 10.4749..., and DuckDB and Spark round such a double differently
    cast(round(cast(case
        when blocks_without_pool > 0 then null
        when att_k is null or may_have_no_unsampled then gmv_attributed_sampled
        else gmv_attributed_sampled + att_u_mean * power(greatest(1 - 1 / (9 * att_k) - {{ z }} / (3 * sqrt(att_k)), 0), 3)
    end as decimal(38, 6)), 2) as double) as gmv_attributed_estimated_ci_low,
    cast(round(cast(case
        when blocks_without_pool > 0 then null
        when att_k is null then gmv_attributed_sampled + att_u_mean
        else gmv_attributed_sampled + att_u_mean * power(1 - 1 / (9 * att_k) + {{ z }} / (3 * sqrt(att_k)), 3)
    end as decimal(38, 6)), 2) as double) as gmv_attributed_estimated_ci_high,
    case
        when min_sampling_ratio >= 1 then 'ok'
        when sampled_buyers < {{ var('estimation_min_sampled_buyers') }} then 'small_sample'
        else 'ok'
    end as estimate_quality
from factors
