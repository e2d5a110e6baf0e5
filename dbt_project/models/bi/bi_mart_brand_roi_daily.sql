{{ config(alias='mart_brand_roi_daily') }}
-- mart_brand_roi_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld
-- (bi.suppression_summary says how much).
select *
from {{ ref('mart_brand_roi_daily') }}
where audience_users >= {{ var('min_audience') }}
