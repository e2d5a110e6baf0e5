{% test absorption_equations_hold(model, chain, tolerance=1e-9) %}
-- The Markov solve is exact: on every rebuilt chain, each channel's conversion probability x_c
-- satisfies x_c = P(c -> conversion) + sum_d P(c -> d) x_d, and P(conversion) = sum_c P(start -> c) x_c.
with solved as (
    select * from {{ model }}
),

chain as (
    select * from {{ chain }} where conversion_date in (select conversion_date from solved)
),

next_state as (
    select
        c.conversion_date,
        c.conversion_type,
        c.from_state,
        c.transition_probability * case
            when c.to_state = '(conversion)' then 1.0
            when c.to_state = '(null)' then 0.0
            else x.conversion_probability_from_channel
        end as term
    from chain as c
    left join solved as x
        on c.conversion_date = x.conversion_date
        and c.conversion_type = x.conversion_type
        and c.to_state = x.channel
),

equations as (
    select
        s.conversion_date,
        s.conversion_type,
        s.channel as state,
        max(s.conversion_probability_from_channel) as solution,
        coalesce(sum(n.term), 0.0) as right_hand_side
    from solved as s
    left join next_state as n
        on s.conversion_date = n.conversion_date
        and s.conversion_type = n.conversion_type
        and s.channel = n.from_state
    group by s.conversion_date, s.conversion_type, s.channel
    union all
    select
        s.conversion_date,
        s.conversion_type,
        '(start)',
        max(s.conversion_probability),
        coalesce(sum(n.term), 0.0)
    from (select distinct conversion_date, conversion_type, conversion_probability from solved) as s
    left join next_state as n
        on s.conversion_date = n.conversion_date
        and s.conversion_type = n.conversion_type
        and n.from_state = '(start)'
    group by s.conversion_date, s.conversion_type
)

select * from equations where abs(solution - right_hand_side) > {{ tolerance }}
{% endtest %}
