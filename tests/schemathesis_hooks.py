"""Schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Two inputs of the read API cannot be described by a schema, so positive (schema-valid) cases
get them the way a real client does; negative cases are left as generated:
- `cursor` is a token the hub makes for one query's filters and sort: a client only ever sends
  one it was given, so positive cases send none.
- `view` names a view the client saved (`POST /v1/views`): positive cases send none.
- a free-text filter value that begins like a modifier (`ab:...`) must be written `eq:ab:...`
  (docs/query-language.md), so positive cases write text values with an explicit `eq:`.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from orderhub.domain import SCALAR_FIELDS, FieldKind

TEXT_FIELDS = {name for name, spec in SCALAR_FIELDS.items() if spec.kind is FieldKind.STR}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or not case.query:
        return case
    query = dict(case.query)
    query.pop("cursor", None)
    query.pop("view", None)
    for name in TEXT_FIELDS & query.keys():
        value = str(query[name])
        query[name] = "eq:" + (value if value != "$null" else "x")
    case.query = query
    return case
