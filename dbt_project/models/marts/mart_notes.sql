{{ config(materialized='table') }}
-- One row per note as it stands now: brand, creator and category with the display names a
-- report shows (note title and creator name from the notes dump where it has them; brand and
-- category names from the seeds). No user data.
select
    n.note_id,
    n.note_title,
    n.brand_id,
    b.display_name_zh as brand_name_zh,
    b.display_name_en as brand_name_en,
    n.creator_id,
    n.creator_name,
    n.category,
    c.display_name_zh as category_name_zh,
    c.display_name as category_name_en,
    n.link_partner,
    n.published_date
from {{ ref('int_notes') }} as n
left join {{ ref('brands') }} as b on n.brand_id = b.brand_id
left join {{ ref('categories') }} as c on n.category = c.category
