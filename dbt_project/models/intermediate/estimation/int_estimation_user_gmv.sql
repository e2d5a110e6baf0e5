{{ config(**replace_dates_config('conversion_date')) }}
{#-
  The sampling unit of the estimators: one row per conversion date, brand, partner, sampled
  user and attribution model, with the user's purchase GMV in the cell (the same for every
  model) and the part of it the model attributes to the brand's notes. Partners sample users,
  not purchases, and the same users every day of a programme: a user's purchases are one
  cluster (docs/estimation.md).
-#}

with purchases as (
    select
        conversion_id,
        conversion_date,
        brand_id,
        partner,
        user_hash,
        purchase_gmv_cny,
        sampling_ratio
    from {{ ref('int_conversions') }}
    where conversion_type = 'purchase'
        and {{ when_incremental('conversion_date') }}
),

user_gmv as (
    select
        conversion_date,
        brand_id,
        partner,
        user_hash,
        max(sampling_ratio) as sampling_ratio,
        sum(purchase_gmv_cny) as gmv
    from purchases
    group by conversion_date, brand_id, partner, user_hash
),

credited as (
    select
        p.conversion_date,
        p.brand_id,
        p.partner,
        p.user_hash,
        f.attribution_model,
        sum(case when f.is_unattributed then 0 else f.gmv_credited_observed end) as gmv_attributed
    from purchases as p
    inner join {{ ref('fct_attribution') }} as f
        on p.conversion_date = f.conversion_date and p.conversion_id = f.conversion_id
    where f.conversion_type = 'purchase'
        and {{ when_incremental('f.conversion_date') }}
    group by p.conversion_date, p.brand_id, p.partner, p.user_hash, f.attribution_model
),

models as (
    {{ attribution_models_relation() }}
)

select
    u.conversion_date,
    u.brand_id,
    u.partner,
    u.user_hash,
    m.attribution_model,
    u.sampling_ratio,
    cast(u.gmv as double) as gmv,
    cast(coalesce(c.gmv_attributed, 0) as double) as gmv_attributed
from user_gmv as u
cross join models as m
left join credited as c
    on u.conversion_date = c.conversion_date and u.brand_id = c.brand_id and u.partner = c.partner
        and u.user_hash = c.user_hash and m.attribution_model = c.attribution_model
