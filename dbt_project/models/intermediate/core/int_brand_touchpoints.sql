{{ config(materialized='view') }}
-- Touchpoints on brands' notes: every touch with the brand and creator of its note, as the note
-- stands now (int_notes), so a note delivered after its events still attaches to them. Touches on
-- notes never delivered have no brand and are not here (mart_note_daily still counts them).
select
    t.event_id,
    t.user_key,
    t.user_hash,
    t.note_id,
    n.brand_id,
    n.creator_id,
    t.event_type,
    t.touch_kind,
    t.link_partner,
    t.link_surface,
    t.touch_time,
    t.touch_epoch,
    t.event_date,
    t.delivery_date
from {{ ref('int_touchpoints') }} as t
inner join {{ ref('int_notes') }} as n on t.note_id = n.note_id
