{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Refunds take the attribution of the order they reverse: one row per refund and touchpoint of
  the order's purchase, with the purchase's credits (int_attribution_credits) and the refunded
  amount, positive, as gmv_cny. A refund whose purchase is not among the last
  refund_window_days of conversions is unattributed: one row, null touch, every credit 1.
  conversion_date is the refund's date.
-#}

with refunds as (
    select
        conversion_id,
        conversion_date,
        partner,
        callback_id,
        order_id,
        conversion_type,
        brand_id,
        refund_gmv_cny as gmv_cny,
        sampling_ratio,
        sampling_weight
    from {{ ref('int_conversions') }}
    where conversion_type = 'refund'
        and {{ when_incremental('conversion_date', 'reattribute') }}
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

purchase_credits as (
    select
        k.*,
        o.partner as order_partner,
        o.order_id as refunded_order_id
    from {{ ref('int_attribution_credits') }} as k
    inner join orders as o on k.conversion_date = o.purchase_date and k.conversion_id = o.purchase_id
),

inherited as (
    select
        r.conversion_id,
        r.conversion_date,
        r.partner,
        r.callback_id,
        r.order_id,
        r.conversion_type,
        r.brand_id,
        k.touch_event_id,
        k.note_id,
        k.creator_id,
        k.touch_kind,
        k.link_surface,
        k.touch_time,
        k.touch_rank,
        k.n_touches,
        k.is_click_through,
        k.channel,
        k.credit_first_touch,
        k.credit_last_touch,
        k.credit_linear,
        k.credit_time_decay,
        k.credit_position_based,
        k.credit_markov,
        k.credit_shapley,
        r.gmv_cny,
        r.sampling_ratio,
        r.sampling_weight
    from refunds as r
    inner join purchase_credits as k on r.partner = k.order_partner and r.order_id = k.refunded_order_id
),

orphans as (
    select
        r.conversion_id,
        r.conversion_date,
        r.partner,
        r.callback_id,
        r.order_id,
        r.conversion_type,
        r.brand_id,
        cast(null as varchar(64)) as touch_event_id,
        cast(null as varchar(64)) as note_id,
        cast(null as varchar(64)) as creator_id,
        cast(null as varchar(64)) as touch_kind,
        cast(null as varchar(64)) as link_surface,
        cast(null as timestamp) as touch_time,
        cast(null as bigint) as touch_rank,
        cast(0 as bigint) as n_touches,
        false as is_click_through,
        cast(null as varchar(64)) as channel,
        cast(1 as double) as credit_first_touch,
        cast(1 as double) as credit_last_touch,
        cast(1 as double) as credit_linear,
        cast(1 as double) as credit_time_decay,
        cast(1 as double) as credit_position_based,
        cast(1 as double) as credit_markov,
        cast(1 as double) as credit_shapley,
        r.gmv_cny,
        r.sampling_ratio,
        r.sampling_weight
    from refunds as r
    -- not exists, not `not in`: Spark runs a `not in` subquery as a nested loop unless it can broadcast it
    where
        not exists (
            select 1 from inherited as k
            where k.conversion_id = r.conversion_id
        )
)

select * from inherited
union all
select * from orphans
