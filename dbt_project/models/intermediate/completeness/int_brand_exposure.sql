{{ config(**replace_dates_config('report_date')) }}
-- Per event date and brand: distinct users who touched the brand's notes (content side, not
-- sampled), the brand tests' measure of how much of the day's attention a brand had.
select
    event_date as report_date,
    brand_id,
    count(distinct user_hash) as exposed_users
from {{ ref('int_brand_touchpoints') }}
where {{ when_incremental('event_date') }}
group by event_date, brand_id
