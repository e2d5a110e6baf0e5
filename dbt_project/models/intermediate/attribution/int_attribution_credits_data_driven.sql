{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  Credits of the data-driven models per conversion and touchpoint (same grain and columns as
  int_attribution_credits, plus the channel and its weight):
    markov   channel weight = its removal effect (int_attribution_removal_effects)
    shapley  channel weight = its Shapley value, negative values as 0 (int_attribution_shapley_values)
  both from the chain of the conversion's own date and type. A conversion's credit goes first to
  the distinct channels of its path, in proportion to their weights, then equally to each channel's
  touches: a channel's share does not grow with how often it repeats (the chain already counted the
  repeats). When no channel of the path has a positive weight (no journeys of the type in the
  training window yet, or only channels the chain never saw), the distinct channels share equally.
  Each conversion's credits sum to 1; a conversion without eligible touchpoints keeps one row per
  model with a null note_id and credit 1 (unattributed).
-#}

with conversions as (
    select
        conversion_id,
        conversion_date,
        conversion_type
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

paths as (
    select
        p.*,
        c.conversion_type
    from (
        select
            *,
            {{ attribution_channel() }} as channel
        from {{ ref('int_attribution_paths') }}
        where {{ when_incremental('conversion_date', 'reattribute') }}
    ) as p
    inner join conversions as c on p.conversion_id = c.conversion_id
),

weights as (
    select
        conversion_date,
        conversion_type,
        'markov' as attribution_model,
        channel,
        removal_effect as channel_weight
    from {{ ref('int_attribution_removal_effects') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
    union all
    select
        conversion_date,
        conversion_type,
        'shapley' as attribution_model,
        channel,
        greatest(shapley_value, 0.0) as channel_weight
    from {{ ref('int_attribution_shapley_values') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

models as (
    {{ attribution_models_relation(data_driven_attribution_models()) }}
),

path_channels as (
    -- one row per conversion, model and distinct channel of the path
    select
        p.conversion_id,
        m.attribution_model,
        p.channel,
        count(*) as channel_touches,
        coalesce(max(w.channel_weight), 0.0) as channel_weight
    from paths as p
    cross join models as m
    left join weights as w
        on p.conversion_date = w.conversion_date
            and p.conversion_type = w.conversion_type
            and m.attribution_model = w.attribution_model
            and p.channel = w.channel
    group by p.conversion_id, m.attribution_model, p.channel
),

channel_shares as (
    select
        *,
        case
            when sum(channel_weight) over (partition by conversion_id, attribution_model) > 0
                then channel_weight / sum(channel_weight) over (partition by conversion_id, attribution_model)
            -- a double: on Spark 1.0 is a decimal, and decimal division keeps 6 digits
            else cast(1 as double) / count(*) over (partition by conversion_id, attribution_model)
        end as channel_share
    from path_channels
),

credited as (
    select
        p.conversion_id,
        p.conversion_date,
        s.attribution_model,
        p.touch_event_id,
        p.note_id,
        p.creator_id,
        p.touch_kind,
        p.link_surface,
        p.touch_time,
        p.touch_rank,
        p.n_touches,
        p.is_click_through,
        s.channel_share / s.channel_touches as credit,
        p.conversion_type,
        p.channel,
        s.channel_weight,
        s.channel_share
    from paths as p
    inner join channel_shares as s
        on p.conversion_id = s.conversion_id
        -- null-safe: a touch no channel condition matched still takes its credit (the not_null
        -- test on channel reports it)
            and coalesce(p.channel, '') = coalesce(s.channel, '')
),

unattributed as (
    select
        c.conversion_id,
        c.conversion_date,
        m.attribution_model,
        {{ no_touch_credit_columns() }},
        c.conversion_type,
        cast(null as varchar(64)) as channel,
        cast(null as double) as channel_weight,
        cast(null as double) as channel_share
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
