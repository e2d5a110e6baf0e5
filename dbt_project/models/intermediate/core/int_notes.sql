{{ config(materialized='table') }}
-- The current version of every note: a later delivery restates it (type 1 dimension).
with versions as (
    select
        *,
        row_number() over (partition by note_id order by delivery_date desc, source_line desc) as version_rank
    from {{ ref('stg_content__notes') }}
)

select
    note_id,
    creator_id,
    brand_id,
    category,
    published_at,
    published_date,
    link_partner,
    note_title,
    creator_name,
    delivery_date as last_delivered_date
from versions
where version_rank = 1
