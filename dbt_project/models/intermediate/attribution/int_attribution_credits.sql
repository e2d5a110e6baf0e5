{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Rule-based credits per conversion, touchpoint and model. Each conversion's credits sum to 1.
    first_touch     1 to the earliest touch
    last_touch      1 to the latest touch
    linear          1/n to each
    time_decay      weight 0.5^(days_before_conversion / half_life_days), normalised
    position_based  one touch: 1; two touches: 1/2 each; n >= 3: 40 % first, 40 % last,
                    20 % shared equally by the n - 2 in between (shares are vars)
  A conversion without eligible touchpoints keeps one row per model with a null note_id
  and credit 1 (unattributed), so attributed + unattributed = observed.
  The data-driven models (markov, shapley) are in int_attribution_credits_data_driven.
-#}
{%- set first_share = var('position_first_share') -%}
{%- set last_share = var('position_last_share') -%}

with paths as (
    select
        *,
        power(0.5, days_before_conversion / {{ var('half_life_days') }}) as decay_weight
    from {{ ref('int_attribution_paths') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

weighted as (
    select
        *,
        sum(decay_weight) over (partition by conversion_id) as decay_total
    from paths
),

models as (
    {{ attribution_models_relation(rule_based_attribution_models()) }}
),

credited as (
    select
        w.conversion_id,
        w.conversion_date,
        m.attribution_model,
        w.touch_event_id,
        w.note_id,
        w.creator_id,
        w.touch_kind,
        w.link_surface,
        w.touch_time,
        w.touch_rank,
        w.n_touches,
        w.is_click_through,
        case m.attribution_model
            when 'first_touch' then case when w.touch_rank = 1 then 1.0 else 0.0 end
            when 'last_touch' then case when w.touch_rank = w.n_touches then 1.0 else 0.0 end
            when 'linear' then 1.0 / w.n_touches
            when 'time_decay' then w.decay_weight / w.decay_total
            when 'position_based' then
                case
                    when w.n_touches = 1 then 1.0
                    when w.n_touches = 2 then 0.5
                    when w.touch_rank = 1 then {{ first_share }}
                    when w.touch_rank = w.n_touches then {{ last_share }}
                    else (1.0 - {{ first_share }} - {{ last_share }}) / (w.n_touches - 2)
                end
        end as credit
    from weighted as w
    cross join models as m
),

conversions as (
    select
        conversion_id,
        conversion_date
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

unattributed as (
    select
        c.conversion_id,
        c.conversion_date,
        m.attribution_model,
        {{ no_touch_credit_columns() }}
    from conversions as c
    cross join models as m
    -- not exists, not `not in`: Spark runs a `not in` subquery as a nested loop unless it can broadcast it
    where
        not exists (
            select 1 from paths as p
            where p.conversion_id = c.conversion_id
        )
)

select * from credited
union all
select * from unattributed
