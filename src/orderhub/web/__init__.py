"""The staff web UI: server-rendered pages over the same services as the API (docs/web.md).

Layering: `web` sits above `api` (it composes the API's app and reuses its rendering) and below
`cli`. Pages call services only: no SQL here.
"""
