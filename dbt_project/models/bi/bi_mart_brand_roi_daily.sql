{{ config(alias='mart_brand_roi_daily') }}
-- mart_brand_roi_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld.
{{ audience_suppressed('mart_brand_roi_daily') }}
