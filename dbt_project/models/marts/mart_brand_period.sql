{#-
  Weekly (Monday to Sunday) and monthly totals per brand, partner ('all': over the brand's
  partners) and attribution model, with their 95 % intervals. Per-user sampling is stable
  across days, so a period's interval is computed from each user's total over the period
  (int_estimation_cells), not by adding daily variances: BI must take weekly and monthly
  intervals from here, never sum daily SEs or daily bounds.
    gmv_observed / gmv_attributed_observed  the sampled buyers' GMV
    gmv_estimated / gmv_attributed_estimated  Horvitz-Thompson totals (sum of the daily ones)
-#}
select
    period_grain,
    period_start,
    brand_id,
    partner,
    attribution_model,
    min_sampling_ratio,
    cast(sampled_buyers as bigint) as sampled_buyers,
    gmv_sampled as gmv_observed,
    gmv_estimated,
    gmv_estimated_ci_low,
    gmv_estimated_ci_high,
    gmv_attributed_sampled as gmv_attributed_observed,
    gmv_attributed_estimated,
    gmv_attributed_estimated_ci_low,
    gmv_attributed_estimated_ci_high,
    estimate_quality,
    pool_source
from {{ ref('int_estimation_cells') }}
where period_grain in ('week', 'month')
