"""What a pledge or a movement may be for: a pledge of the same fund, and a need, a wish or a
project the fund serves (inside its area)."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.core.areas import covers
from portal.core.db import body_id
from portal.extensions import db


def check_links(fund, data, errors: dict) -> dict:
    """The linked rows by name (pledge, need, wish, project); each id that names nothing this
    fund may serve adds a 422 on its field."""
    from portal.charity.models import Pledge, Wish
    from portal.needs.models import Need
    from portal.projects.models import Project

    found: dict = {}
    for field, model, area_of in (
            ("pledge_id", Pledge, None), ("need_id", Need, lambda n: n.community_code),
            ("wish_id", Wish, lambda w: w.community_code),
            ("project_id", Project, lambda p: p.area_code)):
        raw = getattr(data, field, None)
        if raw is None:
            continue
        row = db.session.get(model, body_id(raw)) if body_id(raw) else None
        if row is None:
            errors[field] = [_("No such record.")]
        elif field == "pledge_id":
            if row.fund_id != fund.id:
                errors[field] = [_("A pledge to another fund.")]
        elif not _serves(fund.area_code, area_of(row)):
            errors[field] = [_("Outside the fund's area.")]
        else:
            setattr(data, field, row.id)
        if field not in errors and row is not None:
            found[field.removesuffix("_id")] = row
    return found


def _serves(fund_area: str, area: str | None) -> bool:
    """A fund serves its own area and what lies under it; a project of a wider area (the county
    running a call for it) too."""
    return bool(area) and (covers(fund_area, area) or covers(area, fund_area))
