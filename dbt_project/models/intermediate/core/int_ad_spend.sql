{{ config(materialized='view') }}
-- Spend rows as last restated: a later delivery of the same key replaces the earlier one.
-- note_id is null for brand-level spend (a campaign tied to no note): a window partition groups
-- nulls together (DuckDB and Spark alike), so a restated brand-level row replaces its earlier version.
with versions as (
    select
        *,
        row_number() over (
            partition by spend_date, campaign_id, note_id, funding_source
            order by delivery_date desc, source_line desc
        ) as version_rank
    from {{ ref('stg_content__ad_spend') }}
)

select
    spend_date,
    campaign_id,
    brand_id,
    note_id,
    funding_source,
    spend_cny,
    delivery_date
from versions
where version_rank = 1
