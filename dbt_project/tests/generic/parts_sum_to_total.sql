{% test parts_sum_to_total(model, parts, total, tolerance=0.005) %}
-- The parts add up to the total, within a rounding tolerance (e.g. attributed + unattributed = observed GMV).
select *
from {{ model }}
where abs(({{ parts | join(' + ') }}) - ({{ total }})) > {{ tolerance }}
{% endtest %}
