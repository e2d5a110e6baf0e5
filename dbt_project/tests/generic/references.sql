{% test references(model, column_name, to, field, date_column) %}
-- relationships, on the rebuilt dates only: every non-null value exists in `to`.
select t.{{ column_name }}
from {{ rows_to_check(model, date_column) }} as t
where t.{{ column_name }} is not null
  -- not exists, not `not in`: Spark runs a `not in` subquery as a nested loop unless it can
  -- broadcast it, and a null in `to` would make `not in` pass everything
  and not exists (select 1 from {{ to }} as r where r.{{ field }} = t.{{ column_name }})
{% endtest %}
