{#- The attribution models, rule-based and data-driven: int_attribution_credits has a credit
    column for each (credit_<model>), fct_attribution and the marts a row for each. -#}
{% macro rule_based_attribution_models() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based']) }}
{%- endmacro %}

{% macro data_driven_attribution_models() -%}
    {{ return(['markov', 'shapley']) }}
{%- endmacro %}

{% macro attribution_models() -%}
    {{ return(rule_based_attribution_models() + data_driven_attribution_models()) }}
{%- endmacro %}

{#- a relation with one column `attribution_model`: all models, or the given list -#}
{% macro attribution_models_relation(models=none) -%}
    {%- for model in (models if models is not none else attribution_models()) %}
    select '{{ model }}' as attribution_model
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The conversion types that are attributed (seeds/callback_event_types.csv, is_conversion).
    The data-driven models estimate one chain per type. -#}
{% macro attributed_conversion_types() -%}
    {{ return(['search', 'store_visit', 'add_to_cart', 'purchase']) }}
{%- endmacro %}

{#-
  The channel dimension of the data-driven models, from the var `attribution_channels`: a list of
  {name, when}; a touch takes the first channel whose condition holds. Conditions are SQL on the
  touch's own columns touch_kind, link_surface and link_partner. Validated here, at compile time:
  names are lower-case identifiers (state names such as '(start)' cannot collide with them), unique,
  and there are 1 to 8 of them (Shapley enumerates all 2^K coalitions; the Markov solve is unrolled
  K times).
-#}
{% macro attribution_channels() -%}
    {%- set channels = var('attribution_channels') -%}
    {%- set names = [] -%}
    {%- for channel in channels -%}
        {%- if channel.name is not defined or channel.when is not defined -%}
            {{ exceptions.raise_compiler_error("attribution_channels: every channel needs a name and a condition (when), got " ~ channel) }}
        {%- endif -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', channel.name) -%}
            {{ exceptions.raise_compiler_error("attribution_channels: '" ~ channel.name ~ "' is not a lower-case identifier") }}
        {%- endif -%}
        {%- if channel.name in names -%}
            {{ exceptions.raise_compiler_error("attribution_channels: '" ~ channel.name ~ "' is listed twice") }}
        {%- endif -%}
        {%- do names.append(channel.name) -%}
    {%- endfor -%}
    {%- if names | length < 1 or names | length > 8 -%}
        {{ exceptions.raise_compiler_error("attribution_channels: between 1 and 8 channels are supported (Shapley enumerates 2^K coalitions), got " ~ names | length) }}
    {%- endif -%}
    {{ return(channels) }}
{%- endmacro %}

{% macro attribution_channel_names() -%}
    {{ return(attribution_channels() | map(attribute='name') | list) }}
{%- endmacro %}

{#- a touch's channel (null when no condition holds: the data tests on the data-driven models fail
    then). Use it on a relation that has touch_kind, link_surface and link_partner unqualified. -#}
{% macro attribution_channel() -%}
    case
        {%- for channel in attribution_channels() %}
        when {{ channel.when }} then '{{ channel.name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- a relation (channel, channel_index, channel_bit): bit 2^index marks the channel in a channel set -#}
{% macro attribution_channels_relation() -%}
    {%- for name in attribution_channel_names() %}
    select '{{ name }}' as channel, {{ loop.index0 }} as channel_index, {{ 2 ** loop.index0 }} as channel_bit
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Users whose journeys train the data-driven models: the last two hex digits of the user key
    below share x 256 (keys are random hex, so this is a uniform sample of users, stable across
    days and engines; lowercase hex compares as text in numeric order). -#}
{% macro in_training_sample(user_key) -%}
    {%- set share = var('data_driven_user_sample') | float -%}
    {%- if share <= 0 or share > 1 -%}
        {{ exceptions.raise_compiler_error("var data_driven_user_sample must lie in (0, 1], got " ~ share) }}
    {%- endif -%}
    {%- set buckets = (share * 256) | round | int -%}
    {%- if buckets >= 256 -%}(1 = 1){%- else -%}(substr({{ user_key }}, 63, 2) < '{{ "%02x" | format(buckets) }}'){%- endif -%}
{%- endmacro %}


