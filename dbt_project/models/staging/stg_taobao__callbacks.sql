{{ stg_partner_callbacks('taobao') }}
