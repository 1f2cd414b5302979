"""Order tags: short labels the merchant puts on orders (docs/tags.md).

Tags are the hub's alone: never sent to a channel, never changed by a sync. A tag is 1 to 50
characters of `a-z 0-9 _ - : .`, starting with a letter or digit; upper-case letters given are
lowered (`VIP` is `vip`). An order carries at most `MAX_TAGS`, kept sorted and each once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from orderhub.domain.order import SCALAR_FIELDS, FieldKind, ScalarField

MAX_TAG_LENGTH = 50
MAX_TAGS = 20
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,49}")
#: What `normalise_tag` accepts (the same, upper case too), as the OpenAPI schemas say it.
TAG_INPUT = "[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}"
#: What a tag must look like, as every 400 about one says it.
TAG_FORM = (
    "1 to 50 characters of a-z, 0-9, '_', '-', ':', '.', starting with a letter or digit"
    " (upper case is lowered)"
)

#: `tags` in the query language: a set, filtered by membership, never sorted.
TAGS_FIELD = ScalarField(
    "tags", FieldKind.SET, True, "The order's tags (the merchant's labels; docs/tags.md)."
)
#: Every field the query language may filter on: the scalar fields and `tags`.
QUERY_FIELDS = {**SCALAR_FIELDS, TAGS_FIELD.name: TAGS_FIELD}


def normalise_tag(raw: str) -> str:
    """The tag as stored (lower case), or ValueError when it is not of TAG_FORM."""
    tag = raw.lower() if raw.isascii() else raw
    if not TAG_PATTERN.fullmatch(tag):
        raise ValueError(raw)
    return tag


def tag_set(tags: Iterable[str]) -> list[str]:
    """Tags as an order keeps them: each once, sorted (the order JSON's `tags`)."""
    return sorted(set(tags))


def edited(tags: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """The tags with `add` put on and `remove` taken off (a tag in both ends up off)."""
    return tag_set((set(tags) | set(add)) - set(remove))


def too_many(tags: Iterable[str]) -> str | None:
    """Why an order cannot carry these tags (more than MAX_TAGS), or None."""
    count = len(set(tags))
    if count <= MAX_TAGS:
        return None
    return f"at most {MAX_TAGS} tags on an order (this change would leave {count})"
