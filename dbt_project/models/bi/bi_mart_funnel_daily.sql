{{ config(alias='mart_funnel_daily') }}
-- mart_funnel_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld.
{{ audience_suppressed('mart_funnel_daily') }}
