{% test estimated_equals_observed_when_unsampled(model, pairs, ratio='sampling_ratio', se=none, tolerance=0.005, relative_tolerance=1e-9) %}
-- Where every user is called back (ratio 1) an estimate is the observation and has no error
-- (up to an absolute tolerance plus a relative one of the observation, for floating-point sums).
select *
from {{ model }}
where {{ ratio }} = 1
  and (
    {%- for observed, estimated in pairs %}
    abs({{ estimated }} - {{ observed }}) > {{ tolerance }} + {{ relative_tolerance }} * abs({{ observed }}){% if not loop.last %} or{% endif %}
    {%- endfor %}
    {%- if se %} or {{ se }} > {{ tolerance }}{% endif %}
  )
{% endtest %}
