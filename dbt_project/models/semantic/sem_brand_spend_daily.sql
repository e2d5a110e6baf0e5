{#-
  mart_brand_roi_daily without the attribution model: one row per report date and brand with
  the day's spend and the brand's attributed GMV, which every rule-based and data-driven model
  credits in full to the brand's notes (the test model_free_columns_agree on
  mart_brand_roi_daily checks that every model's row holds the same values). ROAS and spend
  metrics sum these, so they cannot be counted once per model.
-#}
select
    report_date,
    brand_id,
    spend_brand_cny,
    spend_partner_cny,
    spend_total_cny,
    gmv_attributed_estimated
from {{ ref('mart_brand_roi_daily') }}
-- any one model: every spend cell has a row for each model
where attribution_model = 'last_touch'
