{{ config(**replace_dates_config('conversion_date', 'reattribute')) }}
{#-
  The credits of every attribution model, one row per conversion and eligible touchpoint, one
  column per model (fct_attribution unpivots them into its one row per model). Each column sums
  to 1 over a conversion's rows.
  Rule-based:
    first_touch     1 to the earliest touch
    last_touch      1 to the latest touch
    linear          1/n to each
    time_decay      weight 0.5^(days_before_conversion / half_life_days), normalised
    position_based  one touch: 1; two touches: 1/2 each; n >= 3: 40 % first, 40 % last,
                    20 % shared equally by the n - 2 in between (shares are vars)
  Data-driven, from the chain of the conversion's own date and type:
    markov          channel weight = its removal effect (int_attribution_removal_effects)
    shapley         channel weight = its Shapley value, negative values as 0
                    (int_attribution_shapley_values)
    A conversion's credit goes first to the distinct channels of its path, in proportion to
    their weights, then equally to each channel's touches: a channel's share does not grow with
    how often it repeats (the chain already counted the repeats). When no channel of the path
    has a positive weight (no journeys of the type in the training window yet, or only channels
    the chain never saw), the distinct channels share equally.
  A conversion without eligible touchpoints has one row with a null touch and every credit 1
  (unattributed), so attributed + unattributed = observed under every model.
  Refunds are attributed in int_attribution_refund_credits. Built only after the completeness
  check passed, like everything it feeds.
-#}
{%- set first_share = var('position_first_share') -%}
{%- set last_share = var('position_last_share') %}
-- depends_on: {{ ref('mart_callback_completeness') }}

with conversions as (
    select
        conversion_id,
        conversion_date,
        partner,
        callback_id,
        order_id,
        conversion_type,
        brand_id,
        coalesce(purchase_gmv_cny, 0) as gmv_cny,
        sampling_ratio,
        sampling_weight
    from {{ ref('int_conversions') }}
    where is_conversion
        and {{ when_incremental('conversion_date', 'reattribute') }}
),

paths as (
    select
        p.conversion_id,
        p.conversion_date,
        c.conversion_type,
        p.touch_event_id,
        p.note_id,
        p.creator_id,
        p.touch_kind,
        p.link_surface,
        p.touch_time,
        p.touch_rank,
        p.n_touches,
        p.is_click_through,
        {{ attribution_channel() }} as channel,
        power(0.5, p.days_before_conversion / {{ var('half_life_days') }}) as decay_weight
    from {{ ref('int_attribution_paths') }} as p
    inner join conversions as c on p.conversion_id = c.conversion_id
    where {{ when_incremental('p.conversion_date', 'reattribute') }}
),

removal_effects as (
    select
        conversion_date,
        conversion_type,
        channel,
        removal_effect
    from {{ ref('int_attribution_removal_effects') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

shapley_values as (
    select
        conversion_date,
        conversion_type,
        channel,
        shapley_value
    from {{ ref('int_attribution_shapley_values') }}
    where {{ when_incremental('conversion_date', 'reattribute') }}
),

weighted as (
    -- a touch no channel condition matched has a null channel: it takes no weight, and its null
    -- channel is one more "distinct channel" of the path (the not_null test on channel reports it)
    select
        p.*,
        sum(p.decay_weight) over (partition by p.conversion_id) as decay_total,
        count(*) over (partition by p.conversion_id, p.channel) as channel_touches,
        row_number() over (partition by p.conversion_id, p.channel order by p.touch_rank) = 1 as is_channel_first,
        dense_rank() over (partition by p.conversion_id order by p.channel) as channel_rank,
        coalesce(r.removal_effect, 0.0) as markov_weight,
        greatest(coalesce(s.shapley_value, 0.0), 0.0) as shapley_weight
    from paths as p
    left join removal_effects as r
        on p.conversion_date = r.conversion_date
            and p.conversion_type = r.conversion_type
            and p.channel = r.channel
    left join shapley_values as s
        on p.conversion_date = s.conversion_date
            and p.conversion_type = s.conversion_type
            and p.channel = s.channel
),

path_totals as (
    -- per conversion: the channel weights summed once per distinct channel, and the number of
    -- distinct channels
    select
        *,
        sum(case when is_channel_first then markov_weight else 0.0 end) over (partition by conversion_id)
            as markov_total,
        sum(case when is_channel_first then shapley_weight else 0.0 end) over (partition by conversion_id)
            as shapley_total,
        max(channel_rank) over (partition by conversion_id) as n_channels
    from weighted
),

credited as (
    select
        conversion_id,
        touch_event_id,
        note_id,
        creator_id,
        touch_kind,
        link_surface,
        touch_time,
        touch_rank,
        n_touches,
        is_click_through,
        channel,
        case when touch_rank = 1 then 1.0 else 0.0 end as credit_first_touch,
        case when touch_rank = n_touches then 1.0 else 0.0 end as credit_last_touch,
        1.0 / n_touches as credit_linear,
        decay_weight / decay_total as credit_time_decay,
        case
            when n_touches = 1 then 1.0
            when n_touches = 2 then 0.5
            when touch_rank = 1 then {{ first_share }}
            when touch_rank = n_touches then {{ last_share }}
            else (1.0 - {{ first_share }} - {{ last_share }}) / (n_touches - 2)
        end as credit_position_based,
        -- a double: on Spark 1 is a decimal, and decimal division keeps 6 digits
        case
            when markov_total > 0 then markov_weight / markov_total
            else cast(1 as double) / n_channels
        end / channel_touches as credit_markov,
        case
            when shapley_total > 0 then shapley_weight / shapley_total
            else cast(1 as double) / n_channels
        end / channel_touches as credit_shapley
    from path_totals
),

unattributed as (
    select
        c.conversion_id,
        cast(null as varchar(64)) as touch_event_id,
        cast(null as varchar(64)) as note_id,
        cast(null as varchar(64)) as creator_id,
        cast(null as varchar(64)) as touch_kind,
        cast(null as varchar(64)) as link_surface,
        cast(null as timestamp) as touch_time,
        cast(null as bigint) as touch_rank,
        cast(0 as bigint) as n_touches,
        false as is_click_through,
        cast(null as varchar(64)) as channel,
        1.0 as credit_first_touch,
        1.0 as credit_last_touch,
        1.0 as credit_linear,
        1.0 as credit_time_decay,
        1.0 as credit_position_based,
        1.0 as credit_markov,
        1.0 as credit_shapley
    from conversions as c
    -- not exists, not `not in`: Spark runs a `not in` subquery as a nested loop unless it can broadcast it
    where
        not exists (
            select 1 from paths as p
            where p.conversion_id = c.conversion_id
        )
),

all_rows as (
    select * from credited
    union all
    select * from unattributed
)

select
    c.conversion_id,
    c.conversion_date,
    c.partner,
    c.callback_id,
    c.order_id,
    c.conversion_type,
    c.brand_id,
    k.touch_event_id,
    k.note_id,
    k.creator_id,
    k.touch_kind,
    k.link_surface,
    k.touch_time,
    k.touch_rank,
    k.n_touches,
    k.is_click_through,
    k.channel,
    cast(k.credit_first_touch as double) as credit_first_touch,
    cast(k.credit_last_touch as double) as credit_last_touch,
    cast(k.credit_linear as double) as credit_linear,
    cast(k.credit_time_decay as double) as credit_time_decay,
    cast(k.credit_position_based as double) as credit_position_based,
    cast(k.credit_markov as double) as credit_markov,
    cast(k.credit_shapley as double) as credit_shapley,
    c.gmv_cny,
    c.sampling_ratio,
    c.sampling_weight
from all_rows as k
inner join conversions as c on k.conversion_id = c.conversion_id
