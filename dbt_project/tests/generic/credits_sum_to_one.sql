{% test credits_sum_to_one(model, group_by, credits=['credit'], tolerance=1e-9) %}
-- Every conversion's credits add up to 1 under each attribution model: per group, each of the
-- credit columns sums to 1.
select
    {{ group_by | join(', ') }}
    {%- for credit in credits %},
    sum({{ credit }}) as total_{{ credit }}
    {%- endfor %}
from {{ model }}
group by {{ group_by | join(', ') }}
having
    {%- for credit in credits %}
    abs(sum({{ credit }}) - 1) > {{ tolerance }}{% if not loop.last %} or{% endif %}
    {%- endfor %}
{% endtest %}
