{{ config(alias='mart_brand_period') }}
-- mart_brand_period for BI: a period's audience is not counted, so rows behind fewer than
-- var('min_audience') sampled buyers are withheld (buyers are a subset of the audience: stricter).
select *
from {{ ref('mart_brand_period') }}
where sampled_buyers >= {{ var('min_audience') }}
