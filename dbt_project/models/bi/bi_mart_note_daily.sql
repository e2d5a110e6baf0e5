{{ config(alias='mart_note_daily') }}
-- mart_note_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld.
{{ audience_suppressed('mart_note_daily') }}
