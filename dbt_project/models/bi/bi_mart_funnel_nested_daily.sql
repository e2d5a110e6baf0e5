{{ config(alias='mart_funnel_nested_daily') }}
-- mart_funnel_nested_daily for BI: cohorts of fewer than var('min_audience') readers are withheld.
select *
from {{ ref('mart_funnel_nested_daily') }}
where audience_users >= {{ var('min_audience') }}
