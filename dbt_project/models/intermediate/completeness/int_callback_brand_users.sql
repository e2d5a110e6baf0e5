{{ config(**replace_dates_config('report_date')) }}
-- Per partner, event date and brand: distinct users with a callback of the brand (any stage),
-- for the brand tests (int_completeness_brand_tests).
select
    conversion_date as report_date,
    partner,
    brand_id,
    count(distinct user_hash) as brand_users
from {{ ref('int_conversions') }}
where {{ when_incremental('conversion_date') }}
group by conversion_date, partner, brand_id
