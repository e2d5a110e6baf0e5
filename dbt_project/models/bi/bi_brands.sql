{{ config(alias='brands', meta={'window': {}}) }}  -- reference data: tested whole
-- Brand names for BI and the report: reference data, published unsuppressed.
select * from {{ ref('mart_brands') }}
