"""The OpenAPI document says what the API does: schemas for every request and answer, every
parameter, problems for every error, only the statuses a route can give, event types as an
enum. (Every answer of the test suite is also checked against it: tests/openapi_conformance.py.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.core.failures import FailureGroup
from sqlalchemy import create_engine
from starlette.responses import Response

from openapi_conformance import check_response
from orderhub.api.app import create_app
from orderhub.domain import SCALAR_FIELDS
from orderhub.services.webhooks import EVENT_TYPES

PROBLEM_TYPES = {"application/problem+json", "application/problem+xml"}
WITHOUT_BODY = {"204", "304"}
#: Answers that are not JSON (the Prometheus text format, the CSV and NDJSON exports).
NOT_JSON = {("GET", "/metrics"), ("GET", "/v1/orders.csv"), ("GET", "/v1/orders.ndjson")}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(create_engine("sqlite://"))  # the document needs no database


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return dict(TestClient(app).get("/openapi.json").json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def statuses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method.lower()]["responses"])


def parameter_names(document: dict[str, Any], method: str, path: str) -> set[str]:
    return {p["name"] for p in document["paths"][path][method.lower()].get("parameters", [])}


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """Checked against the OpenAPI 3.1 meta-schema (schemathesis carries it)."""
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document).validate()
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {"bogus": 1}}}}}}
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_answer_has_a_schema_and_every_error_is_a_problem(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            label = f"{method} {path} {status}"
            if status in WITHOUT_BODY:
                assert "content" not in response, label
                continue
            content = response["content"]
            if (method, path) in NOT_JSON and status == "200":
                assert [m["schema"] for m in content.values()] == [{"type": "string"}], label
                continue
            if status.startswith(("4", "5")):
                assert set(content) == PROBLEM_TYPES, label
            else:
                assert "application/json" in content, label
            for media in content.values():
                assert media["schema"].get("$ref", "").startswith("#/components/schemas/"), label


def test_no_422_and_no_validation_error_schema(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert "422" not in operation["responses"], f"{method} {path}"
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(document["components"]["schemas"])


def test_bodies_are_described(document: dict[str, Any]) -> None:
    with_body = {
        (method, path)
        for method, path, operation in operations(document)
        if "requestBody" in operation
    }
    assert with_body == {
        ("PUT", "/v1/orders/{order_id}"),
        ("PUT", "/v1/orders/{order_id}/tags"),
        ("POST", "/v1/orders/{order_id}/tags"),
        ("POST", "/v1/orders/bulk"),
        ("POST", "/v1/webhooks"),
        ("POST", "/v1/orders/{order_id}/shipments"),
        ("POST", "/v1/orders/{order_id}/cancellations"),
        ("POST", "/v1/orders/{order_id}/returns"),
        ("PATCH", "/v1/webhooks/{subscription_id}"),
        ("POST", "/v1/views"),
        ("PUT", "/v1/views/{name}"),
    } | ({("POST", "/v1/channels/{name}/webhook")} & with_body)
    for method, path in with_body:
        content = document["paths"][path][method.lower()]["requestBody"]["content"]
        assert "application/json" in content


@pytest.mark.parametrize(
    ("method", "path", "wanted", "never"),
    [
        ("GET", "/v1/orders", {"200", "400", "401", "403", "429"}, {"404", "409", "415"}),
        ("GET", "/v1/orders/unconfirmed", {"200", "400"}, {"404", "412"}),
        ("GET", "/v1/orders/{order_id}", {"200", "304", "400", "404"}, {"409", "412", "415"}),
        (
            "PUT",
            "/v1/orders/{order_id}",
            {"200", "400", "401", "403", "404", "409", "412", "413", "415", "429"},
            {"304", "201"},
        ),
        *(
            (
                method,
                path,
                {"200", "400", "401", "403", "404", "409", "412", "413", "429"},
                {"304", "201", "204"},
            )
            for method, path in (
                ("PUT", "/v1/orders/{order_id}/tags"),
                ("POST", "/v1/orders/{order_id}/tags"),
                ("DELETE", "/v1/orders/{order_id}/tags/{tag}"),
            )
        ),
        ("GET", "/v1/orders/search", {"200", "400", "404"}, {"409", "415"}),
        ("GET", "/v1/orders/{order_id}/history", {"200", "404"}, {"409"}),
        ("POST", "/v1/webhooks", {"201", "400", "415"}, {"200", "404"}),
        ("DELETE", "/v1/webhooks/{subscription_id}", {"204", "404"}, {"200", "415"}),
        ("PATCH", "/v1/webhooks/{subscription_id}", {"200", "400", "404", "415"}, {"201"}),
        (
            "POST",
            "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/retry",
            {"202", "404", "409"},
            {"200", "415"},
        ),
        (
            "POST",
            "/v1/orders/{order_id}/shipments",
            {"201", "400", "401", "403", "404", "409", "412", "415", "429"},
            {"200", "304"},
        ),
        ("GET", "/v1/orders/{order_id}/shipments", {"200", "400", "404"}, {"409", "412"}),
        ("POST", "/v1/orders/{order_id}/returns", {"201", "400", "404", "409"}, {"200"}),
        ("GET", "/v1/orders/{order_id}/cancellations", {"200", "404"}, {"409"}),
        (
            "POST",
            "/v1/webhooks/{subscription_id}/replay",
            {"202", "400", "404", "409"},
            {"200", "415"},
        ),
        ("POST", "/v1/views", {"201", "400", "403", "409", "415"}, {"200", "404"}),
        ("GET", "/v1/views", {"200", "401"}, {"404", "409"}),
        ("GET", "/v1/views/{name}", {"200", "400", "404"}, {"409", "415"}),
        ("PUT", "/v1/views/{name}", {"200", "400", "404", "409", "415"}, {"201"}),
        ("DELETE", "/v1/views/{name}", {"204", "404"}, {"200", "415"}),
        ("GET", "/healthz", {"200"}, {"401", "403", "429"}),
        ("GET", "/readyz", {"200", "503"}, {"401", "403", "429"}),
    ],
)
def test_each_operation_names_the_statuses_it_gives_and_no_other(
    document: dict[str, Any], method: str, path: str, wanted: set[str], never: set[str]
) -> None:
    found = statuses(document, method, path)
    assert wanted <= found
    assert not never & found


def test_every_parameter_is_described(document: dict[str, Any]) -> None:
    paging = {"page", "page_size", "_sort", "cursor", "filter", "q", "view"}
    for path in ("/v1/orders", "/v1/orders/unconfirmed"):
        assert parameter_names(document, "GET", path) >= paging | set(SCALAR_FIELDS) | {"tags"}
    put = parameter_names(document, "PUT", "/v1/orders/{order_id}")
    assert put == {"order_id", "If-Match", "Idempotency-Key"}
    assert "If-None-Match" in parameter_names(document, "GET", "/v1/orders/{order_id}")
    assert parameter_names(document, "GET", "/v1/orders/search") == {"vendor_ref", "fields"}
    deliveries = "/v1/webhooks/{subscription_id}/deliveries"
    assert parameter_names(document, "GET", deliveries) == {
        "subscription_id",
        "status",
        "limit",
        "cursor",
    }
    replay = "/v1/webhooks/{subscription_id}/replay"
    assert parameter_names(document, "POST", replay) == {
        "subscription_id",
        "since",
        "Idempotency-Key",
    }
    quarantine = "/v1/channels/{name}/quarantine"
    assert parameter_names(document, "GET", quarantine) == {"name", "page", "page_size"}


def test_headers_are_described(document: dict[str, Any]) -> None:
    get_order = document["paths"]["/v1/orders/{order_id}"]["get"]["responses"]
    assert get_order["200"]["headers"]["ETag"]["required"] is True
    assert "ETag" in get_order["304"]["headers"]
    for path in ("/v1/orders", "/v1/webhooks/{subscription_id}/deliveries"):
        assert "Link" in document["paths"][path]["get"]["responses"]["200"]["headers"]
    orders = document["paths"]["/v1/orders"]["get"]["responses"]
    assert orders["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert orders["429"]["headers"]["Retry-After"]["required"] is True
    assert "X-Request-ID" in orders["200"]["headers"]


def test_event_types_are_an_enum_of_the_service_list(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["EventType"]["enum"] == list(EVENT_TYPES)
    reference = {"$ref": "#/components/schemas/EventType"}
    assert schemas["WebhookIn"]["properties"]["event_types"]["items"] == reference
    assert schemas["Subscription"]["properties"]["event_types"]["items"] == reference
    assert schemas["Delivery"]["properties"]["type"] == reference


def test_paging_says_whether_a_next_page_follows(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("Paging", "OffsetPaging", "DeliveryPaging"):
        assert "has_next" in schemas[name]["required"], name


def _answer(status: int, body: bytes, url: str, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "http://testserver" + url)
    kinds = {"content-type": "application/json", **headers}
    response = httpx.Response(status, content=body, headers=kinds, request=request)
    response.elapsed = timedelta(0)  # set by a client's transport otherwise
    return response


def test_the_conformance_check_fails_on_what_the_document_does_not_say(app: Any) -> None:
    """The check applied to every answer of the suite can fail: an undocumented field, status
    or media type, or a missing required header, is each refused."""
    good = b'{"status": "ok"}'
    check_response(app, _answer(200, good, "/healthz"))
    for wrong in (
        _answer(200, b'{"status": "ok", "uptime": 3}', "/healthz"),  # an undocumented field
        _answer(201, good, "/healthz"),  # an undocumented status
        _answer(200, good, "/healthz", **{"content-type": "text/plain"}),
        _answer(200, b"{}", "/v1/orders/1", etag='"1"'),  # required fields missing
        _answer(304, b"", "/v1/orders/1"),  # no ETag
    ):
        with pytest.raises(FailureGroup):
            check_response(app, wrong)


def test_an_undocumented_route_is_not_checked(app: Any) -> None:
    check_response(app, _answer(404, b"x", "/no/such/route"))
    check_response(app, _answer(200, b"<xml/>", "/v1/orders.xml"))  # an alias of /v1/orders


def test_every_test_client_answer_of_the_suite_is_checked() -> None:
    """conftest.py's autouse wrapper: an answer the document does not describe fails the test
    that got it, wherever it is."""
    app = create_app(create_engine("sqlite://"))

    @app.get("/teapot", responses={200: {"description": "Tea"}})
    def teapot() -> Response:
        return Response(status_code=418)

    with pytest.raises(FailureGroup):
        TestClient(app).get("/teapot")
    assert TestClient(app).get("/v1/orders.xml").status_code == 401  # undocumented: unchecked


#: The operations issue 13 added: each shows an example of its request body and of every JSON
#: success answer, and each answer's example is valid against the schema it illustrates.
EXAMPLED = [
    ("POST", "/v1/orders/bulk"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{job_id}"),
    ("GET", "/v1/jobs/{job_id}/failures"),
    ("POST", "/v1/jobs/{job_id}/cancel"),
    *[
        (method, f"/v1/orders/{{order_id}}/{kind}")
        for kind in ("shipments", "cancellations", "returns")
        for method in ("POST", "GET")
    ],
    ("PUT", "/v1/orders/{order_id}/tags"),
    ("POST", "/v1/orders/{order_id}/tags"),
    ("DELETE", "/v1/orders/{order_id}/tags/{tag}"),
    ("GET", "/v1/views"),
    ("POST", "/v1/views"),
    ("GET", "/v1/views/{name}"),
    ("PUT", "/v1/views/{name}"),
    ("PATCH", "/v1/webhooks/{subscription_id}"),
    ("POST", "/v1/webhooks/{subscription_id}/replay"),
]


def _examples(media: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """Every example the media entry shows: its own, or the schema's (named or in properties)."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [e["value"] for e in media["examples"].values()]
    return list(schema.get("examples", [])) or ([{}] if schema.get("properties") else [])


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return (
        _resolved(document, document["components"]["schemas"][ref.split("/")[-1]])
        if ref
        else schema
    )


def _has_example(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    text = str(_resolved(document, schema))
    return "'example" in text


@pytest.mark.parametrize(("method", "path"), EXAMPLED)
def test_new_operations_show_valid_examples(
    document: dict[str, Any], method: str, path: str
) -> None:
    operation = document["paths"][path][method.lower()]
    shown: list[tuple[str, dict[str, Any]]] = []
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        shown.append(("request", body))
    for status, answer in operation["responses"].items():
        media = answer.get("content", {}).get("application/json")
        if status.startswith("2") and media is not None:
            shown.append((status, media))
    assert shown, "no JSON body or answer"
    for where, media in shown:
        schema = media["schema"]
        has = "example" in media or "examples" in media or _has_example(document, schema)
        assert has, f"{method} {path} {where}: no example"
        # A request body's schema may be narrower than the API (what schemathesis generates).
        if where != "request" and ("example" in media or "examples" in media):
            validator = jsonschema_rs.validator_for(
                {**schema, "components": document["components"]}
            )
            for example in _examples(media, schema):
                validator.validate(example)
