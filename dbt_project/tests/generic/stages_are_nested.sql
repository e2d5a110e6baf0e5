{% test stages_are_nested(model, stages, tolerance=1e-9) %}
-- Each funnel stage is at most the one before it (the stages are nested sets of users).
select *
from {{ model }}
where
{%- for i in range(1, stages | length) %}
    {{ stages[i] }} > {{ stages[i - 1] }} + {{ tolerance }}{% if not loop.last %} or{% endif %}
{%- endfor %}
{% endtest %}
