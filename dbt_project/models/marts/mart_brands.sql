{{ config(materialized='table') }}
-- One row per brand with notes: display names (seeds/brands.csv; the id where the seed has no
-- row) and the category most of its notes are in, with its display names. No user data.
with note_categories as (
    select
        brand_id,
        category,
        count(*) as notes,
        row_number() over (partition by brand_id order by count(*) desc, category) as category_rank
    from {{ ref('int_notes') }}
    group by brand_id, category
)

select
    n.brand_id,
    coalesce(b.display_name_zh, n.brand_id) as brand_name_zh,
    coalesce(b.display_name_en, n.brand_id) as brand_name_en,
    n.category,
    c.display_name_zh as category_name_zh,
    c.display_name as category_name_en
from note_categories as n
left join {{ ref('brands') }} as b on n.brand_id = b.brand_id
left join {{ ref('categories') }} as c on n.category = c.category
where n.category_rank = 1
