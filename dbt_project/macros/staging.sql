{#- Staging for one partner's tables: the same renames and casts for every partner. -#}

{% macro stg_partner_callbacks(partner) -%}
select
    '{{ partner }}' as partner,
    callback_id,
    event_type as callback_type,
    {{ utc_timestamp('event_time') }} as event_time,
    {{ business_date(utc_timestamp('event_time')) }} as event_date,
    user_key,
    brand_id,
    order_id,
    cast(gmv_cny as decimal(18, 2)) as gmv_cny,
    delivery_date,
    source_file,
    source_line
from {{ source(partner, 'callbacks') }}
{%- endmacro %}

{% macro stg_partner_deliveries(partner) -%}
select
    '{{ partner }}' as partner,
    delivery_date,
    status as delivery_status,
    program_version as manifest_program_version,
    sampling_ratio as manifest_sampling_ratio,
    rows_declared,
    rows_loaded,
    rows_quarantined,
    rows_duplicate
from {{ source(partner, 'deliveries') }}
{%- endmacro %}

{#- union of one staging model over the configured partners -#}
{% macro union_partners(model_pattern) -%}
    {%- for partner in var('partners') %}
    select * from {{ ref(model_pattern | replace('PARTNER', partner)) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
