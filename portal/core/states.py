"""State machines: one `transition()` for every module: refuse an illegal move (409), else move,
stamp the time and write the audit row."""

from __future__ import annotations

from enum import Enum

from flask_babel import gettext as _

from portal.core.audit import record
from portal.core.db import utcnow
from portal.core.errors import Conflict


def transition(obj, to: Enum, moves: dict, *, actor, object_type: str, area_code: str | None,
               reason: str | None = None, field: str = "status",
               stamp: str | None = None, action: str = "transition") -> Enum:
    current = getattr(obj, field)
    if to not in moves.get(current, set()):
        raise Conflict(_("Cannot go from “{from_}” to “{to}”.").format(
            from_=current.title, to=to.title))
    setattr(obj, field, to)
    if stamp:
        setattr(obj, stamp, utcnow())
    record(actor, object_type, obj.id, action, from_=current.value, to=to.value, reason=reason,
           area_code=area_code)
    return current
