{% test unique_combination(model, columns, date_column=none) %}
-- No two rows share these columns.
select {{ columns | join(', ') }}, count(*) as n
from {{ rows_to_check(model, date_column) }} as t
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
