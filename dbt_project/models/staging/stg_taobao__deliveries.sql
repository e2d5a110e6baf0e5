{{ stg_partner_deliveries('taobao') }}
