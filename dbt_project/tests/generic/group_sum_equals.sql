{% test group_sum_equals(model, group_by, value, total, tolerance=1e-9, relative_tolerance=1e-9) %}
-- Per group, the values add up to the group's total (e.g. Shapley values share out the grand
-- coalition's worth: efficiency), within an absolute tolerance plus a relative one (of the total).
select {{ group_by | join(', ') }}, sum({{ value }}) as value_sum, max({{ total }}) as total
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ value }}) - max({{ total }})) > {{ tolerance }} + {{ relative_tolerance }} * abs(max({{ total }}))
{% endtest %}
