{% test parts_sum_to_total(model, parts, total, date_column=none, tolerance=0.005) %}
-- The parts add up to the total, within a rounding tolerance (e.g. attributed + unattributed = observed GMV).
select *
from {{ rows_to_check(model, date_column) }} as t
where abs(({{ parts | join(' + ') }}) - ({{ total }})) > {{ tolerance }}
{% endtest %}
