select
    event_id,
    event_type,
    {{ utc_timestamp('event_time') }} as event_time,
    {{ business_date(utc_timestamp('event_time')) }} as event_date,
    user_key,
    note_id,
    link_partner,
    link_surface,
    delivery_date,
    source_file,
    source_line
from {{ source('content', 'note_events') }}
