"""Dexero e-commerce REST v2 (`/service/rest/2/merchant/catalog`): orders as JSON or XML.

`codec` maps Dexero's Order object to the canonical order and back; `xmlcodec` is the XML form
of the same objects, parsed with defusedxml because channel responses are untrusted input.
"""
