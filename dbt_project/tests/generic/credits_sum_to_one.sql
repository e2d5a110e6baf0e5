{% test credits_sum_to_one(model, group_by, credit='credit', tolerance=1e-9) %}
-- Every conversion's credits add up to 1 under each attribution model.
select {{ group_by | join(', ') }}, sum({{ credit }}) as total_credit
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ credit }}) - 1) > {{ tolerance }}
{% endtest %}
