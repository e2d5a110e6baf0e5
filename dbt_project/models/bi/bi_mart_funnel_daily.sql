{{ config(alias='mart_funnel_daily') }}
-- mart_funnel_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld
-- (bi.suppression_summary says how much).
select *
from {{ ref('mart_funnel_daily') }}
where audience_users >= {{ var('min_audience') }}
