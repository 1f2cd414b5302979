"""The one root of every error orderhub raises on purpose.

OrderhubError
├── InvalidInput        a parameter or body field is not what was expected (400)
├── NotFound            no such resource (404)
└── Conflict            the request clashes with the resource's state (409)
    └── TransitionRefused  (domain.status) a status change the table does not allow
"""

from __future__ import annotations


class OrderhubError(Exception):
    """Root of orderhub's own errors; the API turns each into an RFC 9457 problem."""

    status_code = 500
    title = "Internal error"


class NotFound(OrderhubError):
    status_code = 404
    title = "Not found"


class InvalidInput(OrderhubError):
    """A named parameter had a value that is not what was expected."""

    status_code = 400
    title = "Invalid parameter"

    def __init__(self, parameter: str, expected: str, value: object = None) -> None:
        self.parameter = parameter
        self.expected = expected
        self.value = value
        got = "" if value is None else f", got {value!r}"
        super().__init__(f"{parameter}: expected {expected}{got}")


class Conflict(OrderhubError):
    status_code = 409
    title = "Conflict"
