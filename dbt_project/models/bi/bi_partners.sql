{{ config(alias='partners', meta={'window': {}}) }}  -- reference data: tested whole
-- Partners and their callback programmes per version (seeds/partners.csv and
-- seeds/callback_sampling_policy.csv): the names and sampling ratios a report shows.
select
    p.partner,
    p.partner_name,
    p.programme,
    p.programme_zh,
    s.program_version,
    s.sampling_ratio,
    s.valid_from,
    s.valid_to
from {{ ref('partners') }} as p
inner join {{ ref('callback_sampling_policy') }} as s on p.partner = s.partner
