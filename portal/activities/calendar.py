"""Shifts as calendar events (RFC 5545), built with the icalendar library: lines folded at 75
octets (long Chinese titles), times in Asia/Shanghai with the VTIMEZONE that some calendar
programs require, a stable UID per signup, and a cancelled signup published as CANCELLED with a
higher SEQUENCE so that a subscribed calendar drops it.

One signup is a download; all of a volunteer's signups are a feed at a private address
(`/calendar/<token>.ics`) that a phone calendar subscribes to. The address carries a random
token; only its hash is stored, and making a new one revokes the old.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import url_for
from icalendar import Calendar, Event

from portal.activities.models import Shift, Signup, SignupState
from portal.core.db import utcnow
from portal.extensions import db

SHANGHAI_TZ = ZoneInfo("Asia/Shanghai")
PRODID = "-//Yingkou Civil Affairs//Wushe Liandong portal//ZH"
FEED_PAST_DAYS = 30  # a feed also holds the last month, so that a cancelled shift goes away


def event_for(signup: Signup) -> Event:
    shift, activity = signup.shift, signup.shift.activity
    event = Event()
    event.add("uid", f"signup-{signup.id}@wushe-portal")
    event.add("dtstamp", utcnow())
    event.add("dtstart", shift.starts_at.astimezone(SHANGHAI_TZ))
    event.add("dtend", shift.ends_at.astimezone(SHANGHAI_TZ))
    event.add("summary", activity.title)
    event.add("location", activity.location)
    event.add("url", url_for("activities.activity_show", activity_id=activity.id,
                             _external=True))
    withdrawn = signup.status is SignupState.cancelled and shift.cancelled_at is None
    cancelled = signup.status is SignupState.cancelled or shift.cancelled_at is not None
    event.add("status", "CANCELLED" if cancelled else
              "TENTATIVE" if signup.status is SignupState.waitlisted else "CONFIRMED")
    # A revision number: 0 when signed up, then up with each change the volunteer has seen
    # (the organiser moved or cancelled the shift, a promotion, their own cancellation).
    event.add("sequence", shift.revision + int(signup.promoted_at is not None) + int(withdrawn))
    return event


def calendar_of(signups, name: str) -> bytes:
    cal = Calendar.new(prodid=PRODID, name=name)
    cal.add("method", "PUBLISH")
    for signup in signups:
        cal.add_component(event_for(signup))
    cal.add_missing_timezones()
    return cal.to_ical()


def feed_signups(volunteer_id: int) -> list[Signup]:
    since = utcnow() - timedelta(days=FEED_PAST_DAYS)
    return list(db.session.scalars(
        sa.select(Signup).join(Shift, Shift.id == Signup.shift_id)
        .where(Signup.volunteer_id == volunteer_id, Shift.ends_at > since)
        .order_by(Shift.starts_at)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(volunteer) -> str:
    """A new private address for the volunteer's feed; the old one stops working."""
    token = secrets.token_urlsafe(24)
    volunteer.calendar_token_hash = token_hash(token)
    return token


def volunteer_for_feed(token: str):
    from portal.volunteers.models import Volunteer, VolunteerState

    if not token or len(token) > 64:
        return None
    volunteer = db.session.scalar(sa.select(Volunteer).where(
        Volunteer.calendar_token_hash == token_hash(token)))
    if volunteer is None or volunteer.status is VolunteerState.deleted:
        return None
    return volunteer
