{% test not_null_in_reprocessed(model, column_name, date_column) %}
-- not_null, on the rebuilt dates only.
select * from {{ rows_to_check(model, date_column) }} as t where {{ column_name }} is null
{% endtest %}
