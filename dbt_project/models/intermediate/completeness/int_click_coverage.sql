{{ config(**replace_dates_config('report_date')) }}
{#-
  The population behind the completeness check, per click date and partner: users who clicked a
  partner link (complete on the content side) and those of them who landed, i.e. had a store
  visit to the clicked brand within landing_window_minutes (int_click_landings).
-#}

select
    report_date,
    partner,
    count(*) as clicked_users,
    count(case when landed then 1 end) as visited_users
from {{ ref('int_click_landings') }}
where {{ when_incremental('report_date') }}
group by report_date, partner
