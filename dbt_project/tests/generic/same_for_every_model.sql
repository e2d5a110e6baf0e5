{% test same_for_every_model(model, group_by, columns=[], numbers=[], tolerance=1e-6, relative_tolerance=1e-9) %}
-- A cell (group_by, without the attribution model) has one row per attribution model, and the
-- given columns hold the same value in each of them: what the model-free semantic views
-- (models/semantic) rely on when they read one model's rows. `columns` agree exactly, `numbers`
-- within an absolute plus a relative tolerance (credits sum to 1 up to rounding); null is a
-- value (all rows null or none).
select {{ group_by | join(', ') }}
from {{ model }}
group by {{ group_by | join(', ') }}
having count(distinct attribution_model) <> {{ attribution_models() | length }}
    or count(*) <> {{ attribution_models() | length }}
    {%- for column in columns + numbers %}
    or count({{ column }}) not in (0, count(*))
    {%- endfor %}
    {%- for column in columns %}
    or max({{ column }}) <> min({{ column }})
    {%- endfor %}
    {%- for column in numbers %}
    or max({{ column }}) - min({{ column }}) > {{ tolerance }} + {{ relative_tolerance }} * abs(max({{ column }}))
    {%- endfor %}
{% endtest %}
