{% test references(model, column_name, to, field, date_column) %}
-- relationships, on the rebuilt dates only: every non-null value exists in `to`.
select t.{{ column_name }}
from {{ rows_to_check(model, date_column) }} as t
where t.{{ column_name }} is not null
  and t.{{ column_name }} not in (select {{ field }} from {{ to }})
{% endtest %}
