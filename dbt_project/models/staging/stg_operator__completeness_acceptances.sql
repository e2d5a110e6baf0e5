{{ config(meta={"window": {}}) }}
-- Not windowed: the whole (small) list of acceptances is current on every run.
select
    partner,
    cast(report_date as date) as report_date,
    accepted_by,
    reason,
    {{ utc_timestamp('accepted_at') }} as accepted_at
from {{ source('operator', 'completeness_acceptances') }}
