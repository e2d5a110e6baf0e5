{{ config(materialized='table') }}
-- ln(k!) for k = 0..max clicked users: exact binomial tails in SQL without lgamma (Spark has none).
{%- set max_n -%}
    (select coalesce(max(clicked_users), 0) from {{ ref('int_click_coverage') }})
{%- endset %}

select
    i.k,
    sum(case when i.k = 0 then 0.0 else ln(i.k) end) over (order by i.k rows between unbounded preceding and current row)
        as log_factorial
from {{ integers_upto(max_n) }} as i
