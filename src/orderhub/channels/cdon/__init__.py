"""CDON marketplace (`/api`, `Authorization: api <key>`): orders as `{OrderDetails, Invoices}`.

`codec` maps one element of `GET api/order/` to the canonical order and back, and derives an
order's State from its rows the way CDON does.
"""
