{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Shapley values of the channels per conversion date and conversion type (the weights of the
  `shapley` model), from the same journeys and training window as the Markov chain.

  Players are the K channels of var attribution_channels. The worth of a coalition S is
      v(S) = conversion rate of the journeys whose channel set lies within S
             (converted / all journeys using only channels in S),
  the conversion rate had only the channels in S existed, or 0 when fewer than
  shapley_min_journeys (30) journeys lie within S: a rate from a handful of journeys is noise, and
  the smallest coalitions weigh most (1/K for a single channel). v(empty) = 0 and v(all channels)
  is the overall conversion rate, which the values share out (efficiency). Exact over all 2^K
  coalitions:
      phi(c) = sum over S not containing c of |S|! (K - |S| - 1)! / K! x (v(S + c) - v(S)).
  A value can be negative (the journeys a channel adds convert worse than those without it);
  int_attribution_credits_data_driven then gives the channel no credit. Coalitions are bit masks
  (bit i = the i-th channel, as channel_set); K <= 8 (256 coalitions) is enforced at compile time.
-#}
{%- set channels = attribution_channel_names() -%}
{%- set k_channels = channels | length -%}
{%- set factorials = [1] -%}
{%- for i in range(1, k_channels + 1) -%}{%- do factorials.append(factorials[-1] * i) -%}{%- endfor -%}

with conversion_dates as (
    -- every date and type with conversions has values (all 0 before any journey was resolved)
    select distinct
        conversion_date,
        conversion_type
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

channel_sets as (
    -- every journey has one (start) transition; the converted ones one -> (conversion)
    select
        conversion_date,
        conversion_type,
        channel_set,
        sum(case when from_state = '(start)' then n_transitions else 0 end) as journeys,
        sum(case when to_state = '(conversion)' then n_transitions else 0 end) as converted_journeys
    from {{ ref('int_attribution_training_transitions') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
    group by conversion_date, conversion_type, channel_set
),

coalitions as (
    select
        k as coalition,
        {% for i in range(k_channels) %}(case when (k & {{ 2 ** i }}) > 0 then 1 else 0 end){% if not loop.last %} + {% endif %}{% endfor %} as coalition_size
    from {{ integers_upto(2 ** k_channels - 1) }}
),

coalition_values as (
    select
        d.conversion_date,
        d.conversion_type,
        s.coalition,
        s.coalition_size,
        coalesce(sum(cs.journeys), 0) as journeys,
        case
            when sum(cs.journeys) >= {{ var('shapley_min_journeys') }} and sum(cs.journeys) > 0
                then cast(sum(cs.converted_journeys) as double) / sum(cs.journeys)
            else 0.0
        end as coalition_value
    from conversion_dates as d
    cross join coalitions as s
    left join channel_sets as cs
        on d.conversion_date = cs.conversion_date
            and d.conversion_type = cs.conversion_type
            and (cs.channel_set & s.coalition) = cs.channel_set
    group by d.conversion_date, d.conversion_type, s.coalition, s.coalition_size
),

channels as (
    {{ attribution_channels_relation() }}
),

marginal_contributions as (
    -- v(S + c) - v(S) for every coalition S without c, weighted by |S|! (K - |S| - 1)! / K!
    -- (as doubles: Spark reads 2.0 as a decimal, and decimal division keeps 6 digits)
    select
        v.conversion_date,
        v.conversion_type,
        c.channel,
        c.channel_index,
        case v.coalition_size
            {%- for size in range(k_channels) %}
                when {{ size }} then cast({{ factorials[size] * factorials[k_channels - size - 1] }} as double) / {{ factorials[k_channels] }}
            {%- endfor %}
        end * (w.coalition_value - v.coalition_value) as weighted_contribution
    from coalition_values as v
    cross join channels as c
    inner join coalition_values as w
        on v.conversion_date = w.conversion_date
            and v.conversion_type = w.conversion_type
            and w.coalition = v.coalition + c.channel_bit
    where (v.coalition & c.channel_bit) = 0
),

grand_coalition as (
    -- v(all channels): the overall conversion rate (0 below shapley_min_journeys)
    select
        conversion_date,
        conversion_type,
        journeys,
        coalition_value as conversion_rate
    from coalition_values
    where coalition = {{ 2 ** k_channels - 1 }}
)

select
    m.conversion_date,
    m.conversion_type,
    m.channel,
    m.channel_index,
    sum(m.weighted_contribution) as shapley_value,
    max(g.conversion_rate) as conversion_rate,
    cast(max(g.journeys) as bigint) as journeys
from marginal_contributions as m
inner join grand_coalition as g
    on m.conversion_date = g.conversion_date
        and m.conversion_type = g.conversion_type
group by m.conversion_date, m.conversion_type, m.channel, m.channel_index
