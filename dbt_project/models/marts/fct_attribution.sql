{{ config(materialized='view') }}
{#-
  One row per conversion x eligible touchpoint x attribution model (five rule-based, two
  data-driven: markov and shapley); a conversion without eligible touchpoints has one row per
  model with a null note_id and credit 1. Refund rows (conversion_type = 'refund', dated by the
  refund) carry the refunded amount, positive, with the attribution of the order they reverse.
  gmv_credited_estimated = gmv_credited_observed / sampling_ratio of the callback's date.
  A view: the credits are stored once per conversion and touch, one column per model
  (int_attribution_credits, int_attribution_refund_credits); this unpivots them. Filter it by
  conversion_date: the filter reaches the stored tables.
-#}

with credits as (
    select * from {{ ref('int_attribution_credits') }}
    union all
    select * from {{ ref('int_attribution_refund_credits') }}
),

models as (
    {{ attribution_models_relation() }}
),

unpivoted as (
    select
        k.*,
        m.attribution_model,
        case m.attribution_model
            when 'first_touch' then k.credit_first_touch
            when 'last_touch' then k.credit_last_touch
            when 'linear' then k.credit_linear
            when 'time_decay' then k.credit_time_decay
            when 'position_based' then k.credit_position_based
            when 'markov' then k.credit_markov
            when 'shapley' then k.credit_shapley
        end as credit
    from credits as k
    cross join models as m
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
    cast(sampling_ratio as double) as sampling_ratio,
    note_id is null as is_unattributed
from unpivoted
