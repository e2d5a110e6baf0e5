{{ config(**by_delivery_config()) }}
-- Every note event as a touchpoint, once (ingestion deduplicated them), stored by delivery date
-- so a run adds only what arrived. The note's brand is joined where it is used, so a note that
-- arrives after its events still attaches to them.
select
    e.event_id,
    e.user_key,
    {{ user_hash('e.user_key') }} as user_hash,
    e.note_id,
    e.event_type,
    k.touch_kind,
    e.link_partner,
    e.link_surface,
    e.event_time as touch_time,
    {{ epoch_seconds('e.event_time') }} as touch_epoch,
    e.event_date,
    e.delivery_date
from {{ ref('stg_content__note_events') }} as e
inner join {{ ref('content_event_types') }} as k on e.event_type = k.event_type
where {{ in_delivery_window('e.delivery_date') }}
-- Stored in time order: zone maps then skip most of the table for a time-window read.
order by touch_epoch
