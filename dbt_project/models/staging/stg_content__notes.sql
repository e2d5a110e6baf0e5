select
    note_id,
    creator_id,
    brand_id,
    category,
    {{ utc_timestamp('published_at') }} as published_at,
    {{ business_date(utc_timestamp('published_at')) }} as published_date,
    link_partner,
    delivery_date,
    source_line
from {{ source('content', 'notes') }}
