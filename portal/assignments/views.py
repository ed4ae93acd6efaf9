"""The organiser's pages: ask for a proposal (a job with a progress bar when it is large), review
it, remove lines, apply it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from portal.activities.models import Activity, Shift
from portal.assignments import services
from portal.assignments.models import Proposal
from portal.core.errors import DomainError
from portal.core.permissions import can
from portal.core.views import flash_refusal
from portal.extensions import db
from portal.volunteers.models import Volunteer

bp = Blueprint("assignments", __name__)


class ProposeForm(FlaskForm):
    max_shifts = SelectField(_l("Posts a volunteer may take at most"),
                             choices=[(str(n), str(n)) for n in (1, 2, 3, 4)], default="1")
    propose = SubmitField(_l("Propose the best placement"))


class ApplyForm(FlaskForm):
    apply = SubmitField(_l("Sign up the ticked volunteers"))


def _organised(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id) or abort(404)
    if not can(current_user, "activity.manage", activity):
        abort(403)
    return activity


@bp.route("/activities/<int:activity_id>/assign", methods=["GET", "POST"])
@login_required
def assign(activity_id: int):
    activity = _organised(activity_id)
    form = ProposeForm()
    posts = services.posts_of(activity)
    places = sum(s.capacity - s.confirmed_count for s in posts)
    if form.validate_on_submit():
        max_shifts = int(form.max_shifts.data)
        candidates = services.default_candidates(activity, places)
        classes = len({(s.starts_at, s.ends_at) for s in posts})
        if len(candidates) * max(1, classes) > services.LARGE:
            from portal.core.jobs import enqueue

            run = enqueue(services.run_proposal, activity.id, current_user.id, candidates,
                          max_shifts, actor=current_user)
            db.session.commit()
            return redirect(url_for("core.job", job_id=run.id))
        try:
            proposal = services.propose(activity, actor=current_user,
                                        volunteer_ids=candidates, max_shifts=max_shifts)
        except DomainError as exc:
            db.session.rollback()
            flash_refusal(exc)
            return redirect(url_for("assignments.assign", activity_id=activity.id))
        db.session.commit()
        return redirect(url_for("assignments.proposal_show", proposal_id=proposal.id))
    return render_template("assignments/assign.html", activity=activity, form=form,
                           posts=posts, places=places)


@bp.route("/assignments/<int:proposal_id>", methods=["GET", "POST"])
@login_required
def proposal_show(proposal_id: int):
    proposal = db.session.get(Proposal, proposal_id) or abort(404)
    activity = _organised(proposal.activity_id)
    form = ApplyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        kept = set(request.form.getlist("line"))
        exclude = [(line["volunteer_id"], line["shift_id"]) for line in proposal.lines
                   if f"{line['volunteer_id']}-{line['shift_id']}" not in kept]
        if len(exclude) == len(proposal.lines):
            flash(_("Tick at least one line to sign up."), "warning")
            return redirect(url_for("assignments.proposal_show", proposal_id=proposal.id)), 303
        try:
            result = services.apply(proposal, actor=current_user, exclude=exclude)
        except DomainError as exc:
            db.session.rollback()
            flash_refusal(exc)
            return redirect(url_for("assignments.proposal_show", proposal_id=proposal.id))
        db.session.commit()
        flash(_("Signups made: {n}; lines skipped: {m}.").format(
            n=result["signed_up"], m=len(result["skipped"])), "success")
        return redirect(url_for("assignments.proposal_show", proposal_id=proposal.id))
    shift_ids = {line["shift_id"] for line in proposal.lines} | {
        int(k) for k in proposal.unfilled} | {s["shift_id"] for s in
                                             (proposal.result or {}).get("skipped", [])}
    shifts = {s.id: s for s in db.session.scalars(sa.select(Shift).where(
        Shift.id.in_(shift_ids)))} if shift_ids else {}
    volunteer_ids = {line["volunteer_id"] for line in proposal.lines}
    people = {v.id: v for v in db.session.scalars(sa.select(Volunteer).where(
        Volunteer.id.in_(volunteer_ids)))} if volunteer_ids else {}
    from portal.activities.queries import reason_title

    return render_template("assignments/proposal.html", p=proposal, activity=activity,
                           form=form, shifts=shifts, people=people, reason_title=reason_title)
