{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  One row per conversion x eligible touchpoint x attribution model; a conversion without
  eligible touchpoints has one row per model with a null note_id and credit 1.
  Refund rows (conversion_type = 'refund', dated by the refund) carry the refunded amount,
  positive, with the attribution of the order they reverse; a refund whose purchase is not
  among the last refund_window_days of conversions is unattributed.
  gmv_credited_estimated = gmv_credited_observed / sampling_ratio of the callback's date.
  Credits come from the rule-based models (int_attribution_credits) and the data-driven ones
  (int_attribution_credits_data_driven: markov, shapley).
  Built only after the completeness check passed (it depends on mart_callback_completeness).
-#}
-- depends_on: {{ ref('mart_callback_completeness') }}

with conversions as (
    select *
    from {{ ref('int_conversions') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

credits as (
    select *
    from {{ attribution_credits_union(when_incremental('conversion_date', 'reattribute')) }} as k
),

attributed as (
    select
        c.conversion_id,
        c.conversion_date,
        c.partner,
        c.callback_id,
        c.order_id,
        c.conversion_type,
        c.brand_id,
        k.attribution_model,
        k.note_id,
        k.creator_id,
        k.touch_event_id,
        k.touch_kind,
        k.link_surface,
        k.touch_time,
        k.is_click_through,
        k.credit,
        coalesce(c.purchase_gmv_cny, 0) as gmv_cny,
        c.sampling_ratio,
        c.sampling_weight
    from conversions as c
    inner join credits as k on c.conversion_id = k.conversion_id
    where c.is_conversion
),

refunds as (
    select * from conversions
    where conversion_type = 'refund'
),

orders as (
    select
        p.partner,
        p.order_id,
        p.conversion_id as purchase_id,
        p.conversion_date as purchase_date
    from {{ ref('int_conversions') }} as p
    where p.conversion_type = 'purchase'
        and p.conversion_date >= {{ add_days('(select min(conversion_date) from refunds)', -var('refund_window_days')) }}
        and p.order_id in (select r.order_id from refunds as r)
),

refund_credits as (
    select
        r.conversion_id,
        r.conversion_date,
        r.partner,
        r.callback_id,
        r.order_id,
        r.conversion_type,
        r.brand_id,
        k.attribution_model,
        k.note_id,
        k.creator_id,
        k.touch_event_id,
        k.touch_kind,
        k.link_surface,
        k.touch_time,
        k.is_click_through,
        k.credit,
        r.refund_gmv_cny as gmv_cny,
        r.sampling_ratio,
        r.sampling_weight
    from refunds as r
    inner join orders as o on r.partner = o.partner and r.order_id = o.order_id
    inner join {{ attribution_credits_union('conversion_date in (select purchase_date from orders)') }} as k
        on o.purchase_date = k.conversion_date and o.purchase_id = k.conversion_id
),

orphan_refunds as (
    select
        r.conversion_id,
        r.conversion_date,
        r.partner,
        r.callback_id,
        r.order_id,
        r.conversion_type,
        r.brand_id,
        m.attribution_model,
        cast(null as varchar(64)) as note_id,
        cast(null as varchar(64)) as creator_id,
        cast(null as varchar(64)) as touch_event_id,
        cast(null as varchar(64)) as touch_kind,
        cast(null as varchar(64)) as link_surface,
        cast(null as timestamp) as touch_time,
        false as is_click_through,
        1.0 as credit,
        r.refund_gmv_cny as gmv_cny,
        r.sampling_ratio,
        r.sampling_weight
    from refunds as r
    cross join ({{ attribution_models_relation() }}) as m
    -- not exists, not `not in`: Spark runs a `not in` subquery as a nested loop unless it can broadcast it
    where
        not exists (
            select 1 from refund_credits as k
            where k.conversion_id = r.conversion_id
        )
),

all_rows as (
    select * from attributed
    union all
    select * from refund_credits
    union all
    select * from orphan_refunds
)

select
    conversion_date,
    partner,
    callback_id,
    order_id,
    conversion_type,
    brand_id,
    attribution_model,
    note_id,
    creator_id,
    touch_time,
    is_click_through,
    cast(credit as double) as credit,
    cast(credit * gmv_cny as double) as gmv_credited_observed,
    cast(credit * gmv_cny * sampling_weight as double) as gmv_credited_estimated,
    conversion_id,
    touch_event_id,
    touch_kind,
    link_surface,
    sampling_ratio,
    note_id is null as is_unattributed
from all_rows
