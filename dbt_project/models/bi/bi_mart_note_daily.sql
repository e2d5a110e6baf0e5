{{ config(alias='mart_note_daily') }}
-- mart_note_daily for BI: rows behind fewer than var('min_audience') distinct users are withheld
-- (bi.suppression_summary says how much).
select *
from {{ ref('mart_note_daily') }}
where audience_users >= {{ var('min_audience') }}
