{{ config(**replace_dates_config('report_date')) }}
-- Per partner, event date and hour of day (Asia/Shanghai): callbacks of every stage, for the
-- within-day profile test (int_completeness_profile_tests).
select
    conversion_date as report_date,
    partner,
    {{ business_hour('conversion_time') }} as callback_hour,
    count(*) as callbacks
from {{ ref('int_conversions') }}
where {{ when_incremental('conversion_date') }}
group by conversion_date, partner, {{ business_hour('conversion_time') }}
