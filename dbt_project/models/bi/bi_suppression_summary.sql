{{ config(alias='suppression_summary') }}
{#-
  What the bi views withhold, per mart, report date and attribution model, so totals read in
  BI can be reconciled with the marts: rows and the main money measure, in total and suppressed.
-#}
{%- set min_audience = var('min_audience') -%}
{%- set marts = [
    ('mart_note_daily', 'attribution_model', 'gmv_observed'),
    ('mart_brand_daily', 'attribution_model', 'gmv_observed'),
    ('mart_brand_roi_daily', 'attribution_model', 'gmv_attributed_estimated'),
    ('mart_funnel_daily', none, none),
] -%}

{%- for mart, model_col, money in marts %}
    select
        '{{ mart }}' as mart,
        report_date,
        {{ model_col if model_col else "cast(null as varchar(32))" }},
        count(*) as rows_total,
        sum(case when audience_users < {{ min_audience }} then 1 else 0 end) as rows_suppressed,
        {{ 'cast(sum(' ~ money ~ ') as double)' if money else 'cast(null as double)' }} as money_total,
        {{ 'cast(sum(case when audience_users < ' ~ min_audience ~ ' then ' ~ money ~ ' else 0 end) as double)' if money else 'cast(null as double)' }}
            as money_suppressed,
        '{{ money or "" }}' as money_column
    from {{ ref(mart) }}
    group by report_date{{ ', ' ~ model_col if model_col else '' }}
    {%- if not loop.last %}
        union all
    {%- endif %}
{%- endfor %}
