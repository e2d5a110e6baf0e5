{{ stg_partner_deliveries('jd') }}
