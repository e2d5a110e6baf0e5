{% test within_unit_interval(model, column_name, date_column=none) %}
select * from {{ rows_to_check(model, date_column) }} as t
where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
