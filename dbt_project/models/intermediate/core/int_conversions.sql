{{ config(**by_delivery_config()) }}
-- Every partner callback as a conversion, once (ingestion deduplicated them), with the sampling
-- ratio in force for its partner on its own date: weight = 1 / ratio (Horvitz-Thompson).
-- Refunds are kept; they reverse the GMV of the order they name. is_conversion (from
-- seeds/callback_event_types.csv) marks the types that are attributed to touchpoints.
select
    c.partner || ':' || c.callback_id as conversion_id,
    c.partner,
    c.callback_id,
    c.callback_type as conversion_type,
    k.is_conversion,
    c.event_time as conversion_time,
    {{ epoch_seconds('c.event_time') }} as conversion_epoch,
    c.event_date as conversion_date,
    c.user_key,
    {{ user_hash('c.user_key') }} as user_hash,
    c.brand_id,
    c.order_id,
    case when c.callback_type = 'purchase' then c.gmv_cny end as purchase_gmv_cny,
    case when c.callback_type = 'refund' then c.gmv_cny end as refund_gmv_cny,
    p.program_version,
    p.sampling_ratio,
    p.landing_rate,
    1.0 / p.sampling_ratio as sampling_weight,
    c.delivery_date
from {{ ref('stg_partners__callbacks') }} as c
inner join {{ ref('callback_event_types') }} as k on c.callback_type = k.event_type
left join {{ ref('int_partner_programme_days') }} as p
    on c.partner = p.partner and c.event_date = p.report_date
where {{ in_delivery_window('c.delivery_date') }}
