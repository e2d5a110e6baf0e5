-- One row per partner and delivery date: did the dump arrive, and what its manifest declared.
select
    partner,
    delivery_date,
    status as delivery_status,
    program_version as manifest_program_version,
    sampling_ratio as manifest_sampling_ratio,
    rows_declared,
    rows_loaded,
    rows_quarantined,
    rows_duplicate
from {{ source('partners', 'deliveries') }}
