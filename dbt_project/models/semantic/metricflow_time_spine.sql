{{ config(materialized='table', schema='marts') }}
-- One row per day for MetricFlow (the semantic layer's time spine), 2022-06-01 (the first
-- callback programme) to the end of 2030.
select
    {{ add_days(date_literal('2022-06-01'), 'k') }} as date_day
from {{ integers_upto(3135) }}
