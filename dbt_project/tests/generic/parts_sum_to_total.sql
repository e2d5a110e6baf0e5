{% test parts_sum_to_total(model, parts, total, tolerance=0.005, relative_tolerance=1e-9) %}
-- The parts add up to the total, within a rounding tolerance (e.g. attributed + unattributed = observed GMV):
-- absolute for small totals, relative (of the total) for large ones, where floating-point sums drift.
select *
from {{ model }}
where abs(({{ parts | join(' + ') }}) - ({{ total }})) > {{ tolerance }} + {{ relative_tolerance }} * abs({{ total }})
{% endtest %}
