select
    spend_date,
    campaign_id,
    brand_id,
    note_id,
    funding_source,
    cast(spend_cny as decimal(18, 2)) as spend_cny,
    delivery_date,
    source_line
from {{ source('content', 'ad_spend') }}
