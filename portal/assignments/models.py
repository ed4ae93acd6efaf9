"""An assignment proposal: volunteers placed in an activity's posts (shifts) as well as it can
be done, kept for the organiser to review, trim and apply."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, utcnow
from portal.extensions import db


class Proposal(db.Model):
    __tablename__ = "assignment_proposals"
    __table_args__ = (sa.CheckConstraint("max_shifts BETWEEN 1 AND 10",
                                         name="max_shifts_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    max_shifts: Mapped[int] = mapped_column(sa.Integer)
    # [{"volunteer_id", "shift_id", "score", "reasons"}], the highest score first
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    objective: Mapped[float] = mapped_column(sa.Float)
    optimal: Mapped[bool] = mapped_column(sa.Boolean)
    method: Mapped[str] = mapped_column(sa.String(20))
    unfilled: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {"<shift_id>": places}
    candidates: Mapped[int] = mapped_column(sa.Integer, default=0)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict | None] = mapped_column(sa.JSON)  # {"signed_up", "skipped"}

    activity = relationship("Activity")
