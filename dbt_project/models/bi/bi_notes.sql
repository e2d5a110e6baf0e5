{{ config(alias='notes', meta={'window': {}}) }}  -- reference data: tested whole
-- Note names for BI and the report: reference data, no user data, published unsuppressed.
select * from {{ ref('mart_notes') }}
