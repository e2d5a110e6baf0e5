{% test estimated_equals_observed_when_unsampled(model, pairs, ratio='sampling_ratio', se=none, tolerance=0.005) %}
-- Where every user is called back (ratio 1) an estimate is the observation and has no error.
select *
from {{ model }}
where {{ ratio }} = 1
  and (
    {%- for observed, estimated in pairs %}
    abs({{ estimated }} - {{ observed }}) > {{ tolerance }}{% if not loop.last %} or{% endif %}
    {%- endfor %}
    {%- if se %} or {{ se }} > {{ tolerance }}{% endif %}
  )
{% endtest %}
