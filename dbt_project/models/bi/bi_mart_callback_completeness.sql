{{ config(alias='mart_callback_completeness') }}
-- Partner-level data quality, without brand or user detail: published unsuppressed, because
-- this is how BI sees an incident.
select * from {{ ref('mart_callback_completeness') }}
