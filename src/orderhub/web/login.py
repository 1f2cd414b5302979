"""/login and /logout. SKELETON: the form comes with the staff-accounts work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
