"""Who may see the cases and full figures of 好差评 of an area: the bureau covering it."""

from __future__ import annotations

from portal.core.permissions import policy
from portal.core.users import Role


@policy("rating.cases")
def _cases(user, area_code: str | None) -> bool:
    return user is not None and user.covers(Role.bureau, area_code)
