{{ config(**replace_dates_config('conversion_date')) }}
{#-
  The sampling unit of the per-note intervals: one row per conversion date, note, partner,
  sampled user and attribution model, for every sampled buyer with an eligible touch on the note
  (credit 0 included), with the purchase GMV the model credits to the note. Like
  int_estimation_user_gmv for brands: a user's purchases are one cluster (docs/estimation.md).
-#}

with purchases as (
    select
        conversion_id,
        conversion_date,
        partner,
        user_hash,
        sampling_ratio
    from {{ ref('int_conversions') }}
    where conversion_type = 'purchase'
        and {{ when_incremental('conversion_date') }}
)

select
    p.conversion_date,
    f.brand_id,
    f.note_id,
    p.partner,
    p.user_hash,
    f.attribution_model,
    max(p.sampling_ratio) as sampling_ratio,
    cast(sum(f.gmv_credited_observed) as double) as gmv_attributed
from purchases as p
inner join {{ ref('fct_attribution') }} as f
    on p.conversion_date = f.conversion_date and p.conversion_id = f.conversion_id
where f.conversion_type = 'purchase'
    and f.note_id is not null
    and {{ when_incremental('f.conversion_date') }}
group by p.conversion_date, f.brand_id, f.note_id, p.partner, p.user_hash, f.attribution_model
