"""Readiness: is the database reachable and migrated to the head revision (GET /readyz)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from orderhub.store.migrate import current_revision, head_revision


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    #: The database's revision (None when unreachable or empty) and the code's head.
    revision: str | None
    head: str
    reason: str | None = None


def readiness(engine: Engine) -> Readiness:
    head = head_revision()
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        # The driver's first line names host and database, never the password.
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
        detail = f": {first[0]}" if first else ""
        return Readiness(False, None, head, f"database unreachable ({type(exc).__name__}){detail}")
    if revision != head:
        at = "empty (no revision)" if revision is None else f"at revision {revision}"
        reason = f"database not migrated: {at}, the code needs {head}; run `orderhub db upgrade`"
        return Readiness(False, revision, head, reason)
    return Readiness(True, revision, head)
