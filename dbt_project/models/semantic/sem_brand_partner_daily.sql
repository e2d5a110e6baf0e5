{#-
  mart_brand_daily without the attribution model: one row per report date, brand and partner,
  with the figures that do not depend on the model (every model's row repeats them; the test
  model_free_columns_agree on mart_brand_daily checks that they are equal). The semantic layer
  sums these, so a metric such as gmv_estimated cannot be counted once per model.
-#}
select
    report_date,
    brand_id,
    partner,
    reads,
    link_clicks,
    purchases_observed,
    gmv_observed,
    gmv_estimated,
    gmv_estimated_se,
    refund_gmv_observed,
    refund_gmv_estimated,
    sampling_ratio,
    completeness_status,
    completeness_accepted,
    is_provisional,
    gmv_estimated_ci_low,
    gmv_estimated_ci_high
from {{ ref('mart_brand_daily') }}
-- any one model: its rows are every model's cells (mart_brand_daily cross joins the models)
where attribution_model = 'last_touch'
