{% test flow_is_conserved(model, group_by) %}
-- Journeys are whole: per group (e.g. date, conversion type, channel set), every channel state is
-- entered as often as it is left, and as many journeys start as end in (conversion) or (null).
with flows as (
    select {{ group_by | join(', ') }}, to_state as state, n_transitions as inflow, 0 as outflow
    from {{ model }}
    union all
    select {{ group_by | join(', ') }}, from_state, 0, n_transitions
    from {{ model }}
),

balances as (
    select
        {{ group_by | join(', ') }},
        case when state in ('(start)', '(conversion)', '(null)') then '(outside)' else state end as state,
        sum(inflow) as inflow,
        sum(outflow) as outflow
    from flows
    group by {{ group_by | join(', ') }}, case when state in ('(start)', '(conversion)', '(null)') then '(outside)' else state end
)

select * from balances where inflow <> outflow
{% endtest %}
