-- Every partner's callbacks as delivered and validated (ingestion deduplicated them per
-- partner, first delivery wins): types named, times as naive UTC with an Asia/Shanghai date,
-- amounts in CNY. The partner comes from the raw layer's partner= directory.
select
    partner,
    callback_id,
    event_type as callback_type,
    {{ utc_timestamp('event_time') }} as event_time,
    {{ business_date(utc_timestamp('event_time')) }} as event_date,
    user_key,
    brand_id,
    order_id,
    cast(gmv_cny as decimal(18, 2)) as gmv_cny,
    delivery_date,
    source_file,
    source_line
from {{ source('partners', 'callbacks') }}
