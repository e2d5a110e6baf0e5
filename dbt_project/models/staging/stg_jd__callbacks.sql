{{ stg_partner_callbacks('jd') }}
