select
    note_id,
    creator_id,
    brand_id,
    category,
    {{ utc_timestamp('published_at') }} as published_at,
    {{ business_date(utc_timestamp('published_at')) }} as published_date,
    link_partner,
    -- optional contract columns (added later; empty for files delivered without them)
    nullif(trim(note_title), '') as note_title,
    nullif(trim(creator_name), '') as creator_name,
    delivery_date,
    source_line
from {{ source('content', 'notes') }}
