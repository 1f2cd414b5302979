"""The metrics this server process counts itself (HTTP requests, quota refusals), in
prometheus-client's default registry; with several server processes they are shared through
PROMETHEUS_MULTIPROC_DIR (api/metrics.py). The database-derived ones: services/metrics.py."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `_created` series: they double the output and say nothing an operator uses here.
disable_created_metrics()

#: Route templates, never raw paths (unbounded); a request no route matches is counted here.
UNMATCHED = "<unmatched>"

HTTP_REQUESTS = Counter(
    "orderhub_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "orderhub_http_request_duration_seconds",
    "Time to answer an HTTP request (to the last byte of the body), by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUOTA_REJECTIONS = Counter(
    "orderhub_quota_rejections",
    "Requests refused with 429 because the key's daily quota was used up, by key name.",
    ["key"],
)
