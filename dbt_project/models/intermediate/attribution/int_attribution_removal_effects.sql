{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Markov removal effects per conversion date, conversion type and channel (the weights of the
  `markov` model), from the chain in int_attribution_markov_chain.

  With Q the transition probabilities among the K channel states, r_i = P(i -> (conversion)) and
  s_i = P((start) -> i), the probability of reaching (conversion) from channel i solves
      x = r + Q x,  i.e.  (I - Q) x = r,
  and P(conversion) = sum_i s_i x_i. Removing channel c sends every transition into c to (null):
  the same system with x_c = 0. removal_effect(c) = 1 - P(conversion without c) / P(conversion),
  in [0, 1] (clamped against rounding; 0 when nothing converts).

  The K + 1 systems (the full chain, then each channel removed) are solved exactly by Gauss-Jordan
  elimination, unrolled at compile time: one row per system with the matrix in K x K columns and
  one CTE per pivot. No recursion and no iteration to converge; plain arithmetic that runs the
  same on Spark. I - Q is a non-singular M-matrix (every state of an observed journey reaches an
  absorbing state) and weakly diagonally dominant by rows, so the pivots are positive and
  elimination without pivoting is stable. The test absorption_equations_hold checks the solution
  against the chain on every run (residual below 1e-9).
-#}
{%- set channels = attribution_channel_names() -%}
{%- set k_channels = channels | length -%}

with chain as (
    select *
    from {{ ref('int_attribution_markov_chain') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

matrix as (
    -- one row per chain: s_i = P(start -> i), r_i = P(i -> conversion), q_i_j = P(i -> j)
    select
        conversion_date,
        conversion_type,
        sum(case when from_state = '(start)' then n_transitions else 0 end) as journeys,
        sum(case when to_state = '(conversion)' then n_transitions else 0 end) as converted_journeys
        {%- for ci in channels %}
        {%- set i = loop.index %},
        sum(case when from_state = '(start)' and to_state = '{{ ci }}' then transition_probability else 0 end) as s_{{ i }},
        sum(case when from_state = '{{ ci }}' and to_state = '(conversion)' then transition_probability else 0 end) as r_{{ i }}
        {%- for cj in channels %},
        sum(case when from_state = '{{ ci }}' and to_state = '{{ cj }}' then transition_probability else 0 end) as q_{{ i }}_{{ loop.index }}
        {%- endfor %}
        {%- endfor %}
    from chain
    group by conversion_date, conversion_type
),

systems as (
    -- removed = 0: the full chain; removed = i: channel i removed (its row becomes x_i = 0)
    select
        m.conversion_date,
        m.conversion_type,
        s.k as removed
        {%- for i in range(1, k_channels + 1) %},
        m.s_{{ i }}
        {%- for j in range(1, k_channels + 1) %},
        case when s.k = {{ i }} then {{ '1.0' if i == j else '0.0' }} else {{ '1.0' if i == j else '0.0' }} - m.q_{{ i }}_{{ j }} end as a_{{ i }}_{{ j }}
        {%- endfor %},
        case when s.k = {{ i }} then 0.0 else m.r_{{ i }} end as b_{{ i }}
        {%- endfor %}
    from matrix as m
    cross join {{ integers_upto(k_channels) }} as s
),

{%- for k in range(1, k_channels + 1) %}
{#- Pivot k: divide row k by a_k_k, subtract a_i_k x row k from every other row. Columns up to k
    are unit vectors afterwards and are not carried on. #}
{%- set previous = 'systems' if k == 1 else 'eliminated_' ~ (k - 1) %}

eliminated_{{ k }} as (
    select
        conversion_date,
        conversion_type,
        removed
        {%- for i in range(1, k_channels + 1) %},
        s_{{ i }}
        {%- for j in range(k + 1, k_channels + 1) %},
        {%- if i == k %}
        a_{{ k }}_{{ j }} / nullif(a_{{ k }}_{{ k }}, 0) as a_{{ i }}_{{ j }}
        {%- else %}
        a_{{ i }}_{{ j }} - a_{{ i }}_{{ k }} * a_{{ k }}_{{ j }} / nullif(a_{{ k }}_{{ k }}, 0) as a_{{ i }}_{{ j }}
        {%- endif %}
        {%- endfor %},
        {%- if i == k %}
        b_{{ k }} / nullif(a_{{ k }}_{{ k }}, 0) as b_{{ i }}
        {%- else %}
        b_{{ i }} - a_{{ i }}_{{ k }} * b_{{ k }} / nullif(a_{{ k }}_{{ k }}, 0) as b_{{ i }}
        {%- endif %}
        {%- endfor %}
    from {{ previous }}
),
{%- endfor %}

solved as (
    -- b_i is now x_i, the probability of converting from channel i
    select
        conversion_date,
        conversion_type,
        removed,
        {%- for i in range(1, k_channels + 1) %}
        b_{{ i }},
        {%- endfor %}
        {% for i in range(1, k_channels + 1) %}s_{{ i }} * b_{{ i }}{% if not loop.last %} + {% endif %}{% endfor %} as conversion_probability
    from eliminated_{{ k_channels }}
),

channels as (
    {{ attribution_channels_relation() }}
)

select
    f.conversion_date,
    f.conversion_type,
    c.channel,
    c.channel_index,
    -- probabilities are published clamped to [0, 1]: rounding can overshoot by a few 1e-16
    greatest(0.0, least(1.0, case c.channel_index
        {%- for i in range(1, k_channels + 1) %}
        when {{ i - 1 }} then f.b_{{ i }}
        {%- endfor %}
    end)) as conversion_probability_from_channel,
    greatest(0.0, least(1.0, f.conversion_probability)) as conversion_probability,
    greatest(0.0, least(1.0, w.conversion_probability)) as conversion_probability_without,
    case
        when f.conversion_probability > 0
            then greatest(0.0, least(1.0, 1.0 - w.conversion_probability / f.conversion_probability))
        else 0.0
    end as removal_effect,
    cast(m.journeys as bigint) as journeys,
    cast(m.converted_journeys as bigint) as converted_journeys
from solved as f
cross join channels as c
inner join solved as w
    on f.conversion_date = w.conversion_date
    and f.conversion_type = w.conversion_type
    and w.removed = c.channel_index + 1
inner join matrix as m
    on f.conversion_date = m.conversion_date
    and f.conversion_type = m.conversion_type
where f.removed = 0
