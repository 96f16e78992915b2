"""Who the caller is: the cheapest authenticated answer, and the HTTP stack's baseline."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.schemas.audit import WhoAmI

router = APIRouter(tags=["health"])


@router.get("/whoami", response_model=WhoAmI)
async def get_whoami(*, user: CurrentUser) -> WhoAmI:
    """The user of the API key and the roles it holds (any role); no database round trip."""
    return WhoAmI(user=user.user, roles=sorted(user.roles))
