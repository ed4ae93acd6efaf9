"""State machines: one `transition()` for every module: refuse an illegal move (409), else move,
stamp the time and write the audit row."""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from portal.core.audit import record
from portal.core.db import utcnow
from portal.core.errors import Conflict
from portal.extensions import db


def transition(obj, to: Enum, moves: dict, *, actor, object_type: str, area_code: str | None,
               reason: str | None = None, field: str = "status",
               stamp: str | None = None, action: str = "transition") -> Enum:
    """Move obj.<field> to `to` if the table allows it from the current state.

    The write is conditional (UPDATE ... WHERE id = ? AND <field> = <current>): when two requests
    race, the database lets one through and the other finds the state changed and gets 409,
    whatever both read before.
    """
    current = getattr(obj, field)
    if to not in moves.get(current, set()):
        raise Conflict(_("Cannot go from “{from_}” to “{to}”.").format(
            from_=current.title, to=to.title))
    model = type(obj)
    values = {field: to}
    if stamp:
        values[stamp] = utcnow()
    result = db.session.execute(
        sa.update(model).where(model.id == obj.id, getattr(model, field) == current)
        .values(values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.expire(obj)
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    for key, value in values.items():
        set_committed_value(obj, key, value)
    record(actor, object_type, obj.id, action, from_=current.value, to=to.value, reason=reason,
           area_code=area_code)
    return current
