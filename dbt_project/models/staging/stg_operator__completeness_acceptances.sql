{{ config(meta={"window": {}}) }}
-- Not windowed: the whole (small) list of acceptances is current on every run.
-- stage: the callback stage accepted; null accepts the whole partner-day.
select
    partner,
    cast(report_date as date) as report_date,
    accepted_by,
    reason,
    stage,
    {{ utc_timestamp('accepted_at') }} as accepted_at
from {{ source('operator', 'completeness_acceptances') }}
