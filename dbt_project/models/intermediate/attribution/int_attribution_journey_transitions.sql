{{ config(**replace_dates_config('journey_date', 'reattribute')) }}
{#-
  Journeys, converting and not, for the data-driven models (markov, shapley), counted as
  transitions per resolution date, conversion type, channel set and (from_state, to_state).

  Per conversion type T (one chain per type), each user's touches on a brand's notes are cut into
  journeys:
    converting      ends at a conversion p of type T: p's eligible touchpoints, [p - lookback, p]
                    as in int_attribution_paths, that came after the user's previous T conversion
                    for the brand (a journey ends at its conversion; the next one starts after it);
    non-converting  ends at a touch e that neither another touch of the brand nor a T conversion
                    follows within lookback: the touches in [e - lookback, e] after the previous
                    T conversion. It is resolved at e + lookback, when it is known not to convert.
  A journey is thus what attribution sees, the lookback window before its outcome; a touch older
  than the window of the outcome that follows it is in no journey, as a touch older than the
  lookback is in no conversion's path. Windows never overlap: a touch is in at most one journey per
  type. A conversion without touches since the previous one is not a journey (it has no channel).

  journey_date is the business date of resolution (the conversion, or the last touch + lookback):
  a journey counts once its outcome is known, so the chain of a conversion date uses data up to
  that date only and a date's chain does not change when later days arrive.

  Every journey contributes (start) -> its first channel, each channel -> the next touch's channel,
  and its last channel -> (conversion) or (null). Repeats of a channel are kept as self-loops: they
  do not change absorption probabilities (docs/attribution.md). channel_set is the bit mask of the
  journey's channels (bit i = the i-th entry of var attribution_channels), for Shapley.

  Reads 2 x lookback + 1 days of touches before the first rebuilt date: the window of a journey
  resolved on date r, and the lookback after its last touch, which decides its outcome. Only the
  journeys of a sample of users train the chain (var data_driven_user_sample, macros/attribution.sql):
  a handful of transition probabilities does not need every user, and this model is the costliest
  of the project at production volumes.
-#}
{%- set lookback = var('lookback_days') -%}
{%- set lookback_seconds = lookback * 86400 -%}
{%- set types = attributed_conversion_types() -%}

with bounds as (
    select
        {%- if is_incremental() %}
        {{ add_days('min(report_date)', -(2 * lookback + 1)) }} as first_date,
        -- a cheap pre-filter before dates are computed: a journey resolved on the first rebuilt
        -- date resolves after this instant, whatever the business time zone
        {{ epoch_seconds('cast(' ~ add_days('min(report_date)', -1) ~ ' as timestamp)') }} as first_resolution_epoch,
        max(report_date) as last_date
        {%- else %}
        max(last_delivery_date) as last_date
        {%- endif %}
    from {{ ref('int_reprocessing_dates') }}
    {%- if is_incremental() %}
    where reattribute
    {%- endif %}
),

last_delivery as (
    -- a journey resolved after the last delivery is still open: it is stored once it resolves
    select max(last_delivery_date) as last_delivery_date from {{ ref('int_reprocessing_dates') }}
),

touches as (
    -- the channel is derived on the touch's own columns (the note has a link_partner too)
    select
        t.user_hash,
        t.brand_id,
        t.event_id,
        t.touch_epoch,
        {{ attribution_channel() }} as channel
    from {{ ref('int_brand_touchpoints') }} as t
    cross join bounds as b
    where {{ in_training_sample('t.user_key') }}
      and t.event_date <= b.last_date
      {%- if is_incremental() %}
      and t.event_date >= b.first_date
      {%- endif %}
),

conversions as (
    select c.user_hash, c.brand_id, c.conversion_type, c.conversion_epoch
    from {{ ref('int_conversions') }} as c
    cross join bounds as b
    where c.is_conversion
      and {{ in_training_sample('c.user_key') }}
      and c.conversion_date <= b.last_date
      {%- if is_incremental() %}
      and c.conversion_date >= b.first_date
      {%- endif %}
),

events as (
    select user_hash, brand_id, touch_epoch as event_epoch, 0 as is_conversion, event_id, channel,
           cast(null as varchar(64)) as conversion_type
    from touches
    union all
    select user_hash, brand_id, conversion_epoch, 1, cast(null as varchar(64)), cast(null as varchar(64)),
           conversion_type
    from conversions
),

located as (
    -- For each touch and type: the next conversion at or after it (a touch at the conversion's
    -- time is eligible, so touches sort before conversions at equal times).
    select
        *
        {%- for type in types %},
        min(case when conversion_type = '{{ type }}' then event_epoch end) over (
            partition by user_hash, brand_id order by event_epoch, is_conversion, event_id
            rows between current row and unbounded following
        ) as next_{{ type }}_epoch
        {%- endfor %}
    from events
),

neighbours as (
    -- The previous touch is in another journey of a type when a conversion of the type came
    -- between them, i.e. its next conversion is not this touch's.
    select
        *,
        lag(event_epoch) over (partition by user_hash, brand_id order by event_epoch, event_id) as previous_touch_epoch,
        lead(event_epoch) over (partition by user_hash, brand_id order by event_epoch, event_id) as next_touch_epoch,
        lead(channel) over (partition by user_hash, brand_id order by event_epoch, event_id) as next_channel
        {%- for type in types %},
        lag(next_{{ type }}_epoch) over (partition by user_hash, brand_id order by event_epoch, event_id)
            as previous_touch_next_{{ type }}_epoch
        {%- endfor %}
    from located
    where is_conversion = 0
),

sessions as (
    -- the touch that ends the run of touches this one belongs to: the first, from here on, that no
    -- touch follows within lookback (the end of a non-converting journey, if no conversion follows)
    select
        *,
        min(case when next_touch_epoch is null or next_touch_epoch - event_epoch > {{ lookback_seconds }} then event_epoch end) over (
            partition by user_hash, brand_id order by event_epoch, event_id
            rows between current row and unbounded following
        ) as run_end_epoch
    from neighbours
),

touch_types as (
    -- one row per touch and conversion type: a cross join, not a union of one select per type,
    -- so Spark plans the windows above once instead of once per type
    select
        s.user_hash,
        s.brand_id,
        s.event_epoch as touch_epoch,
        s.channel,
        s.previous_touch_epoch,
        s.next_touch_epoch,
        s.next_channel,
        s.run_end_epoch,
        t.conversion_type,
        case t.conversion_type
            {%- for type in types %}
            when '{{ type }}' then s.next_{{ type }}_epoch
            {%- endfor %}
        end as next_conversion_epoch,
        case t.conversion_type
            {%- for type in types %}
            when '{{ type }}' then s.previous_touch_next_{{ type }}_epoch
            {%- endfor %}
        end as previous_touch_next_conversion_epoch
    from sessions as s
    cross join (
        {%- for type in types %}
        select '{{ type }}' as conversion_type
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as t
),

classified as (
    select
        *,
        case
            when next_conversion_epoch <= touch_epoch + {{ lookback_seconds }} then true
            when (next_conversion_epoch is null or next_conversion_epoch > run_end_epoch + {{ lookback_seconds }})
                and touch_epoch >= run_end_epoch - {{ lookback_seconds }} then false
        end as is_converted  -- null: the touch is in no journey of this type
    from touch_types
),

journey_touches as (
    select
        *,
        case when is_converted then next_conversion_epoch else run_end_epoch end as journey_end_epoch,
        case when is_converted then next_conversion_epoch else run_end_epoch + {{ lookback_seconds }} end as resolution_epoch
    from classified
    where is_converted is not null
),

rebuilt as (
    select *
    from (
        select *, {{ business_date(timestamp_from_epoch('resolution_epoch')) }} as journey_date
        from journey_touches
        {%- if is_incremental() %}
        where resolution_epoch >= (select first_resolution_epoch from bounds)
        {%- endif %}
    ) as j
    where {{ when_incremental('journey_date', 'reattribute') }}
      and journey_date <= (select last_delivery_date from last_delivery)
),

transitions as (
    select
        journey_date,
        conversion_type,
        {%- for name in attribution_channel_names() %}
        max(case when channel = '{{ name }}' then {{ 2 ** loop.index0 }} else 0 end) over (
            partition by user_hash, brand_id, conversion_type, journey_end_epoch
        ){% if not loop.last %} +{% endif %}
        {%- endfor %} as channel_set,
        -- the first touch of its journey: the previous touch is older than the window, or a
        -- conversion of the type came between them
        (
            previous_touch_epoch is null
            or previous_touch_epoch < journey_end_epoch - {{ lookback_seconds }}
            or coalesce(previous_touch_next_conversion_epoch <> next_conversion_epoch,
                        previous_touch_next_conversion_epoch is not null or next_conversion_epoch is not null)
        ) as is_first,
        channel as from_state,
        case
            when is_converted and next_touch_epoch <= next_conversion_epoch then next_channel
            when not is_converted and next_touch_epoch <= run_end_epoch then next_channel
            when is_converted then '(conversion)'
            else '(null)'
        end as to_state
    from rebuilt
),

all_transitions as (
    -- each transition, and (start) -> the first channel of each journey: transitions is read
    -- once (a union of two selects on it would make Spark compute it twice)
    select
        t.journey_date,
        t.conversion_type,
        t.channel_set,
        case when r.is_start = 1 then '(start)' else t.from_state end as from_state,
        case when r.is_start = 1 then t.from_state else t.to_state end as to_state
    from transitions as t
    cross join (
        select 0 as is_start
        union all
        select 1 as is_start
    ) as r
    where r.is_start = 0 or t.is_first
)

select
    journey_date,
    conversion_type,
    channel_set,
    from_state,
    to_state,
    count(*) as n_transitions
from all_transitions
group by journey_date, conversion_type, channel_set, from_state, to_state
