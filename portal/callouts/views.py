"""The call-out pages: calling out on a phone, the coordinator's live page (it polls a small
JSON answer, no websocket), the volunteer's answer, and the list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.callouts import services
from portal.callouts.forms import AnswerForm, CalloutForm, DeskForm, EndForm, WithdrawForm
from portal.callouts.models import (
    STILL_IN,
    AnswerState,
    Callout,
    CalloutResponse,
    CalloutState,
    called_id,
)
from portal.callouts.permissions import caller_scopes
from portal.core.areas import Area, place_choices, under
from portal.core.db import SHANGHAI, parse_id, utcnow
from portal.core.errors import DomainError
from portal.core.notify import Notification
from portal.core.permissions import can
from portal.core.views import flash_refusal, page_number, submit
from portal.extensions import db
from portal.volunteers.catalogues import SKILLS
from portal.volunteers.models import Volunteer

bp = Blueprint("callouts", __name__)

PER_PAGE = 20


def _callable_areas(user) -> list[Area]:
    """The areas a user may call out in, as a select offers them: each of their areas and the
    areas one level below it."""
    scopes = caller_scopes(user)
    if user.is_admin and not scopes:
        scopes = ["2108"]
    if not scopes:
        return []
    return list(db.session.scalars(sa.select(Area).where(sa.or_(
        Area.code.in_(scopes), Area.parent_code.in_(scopes))).order_by(Area.code)))


def _called_ids(user) -> list[int]:
    """The call-outs this user was told of (their notifications say so)."""
    keys = db.session.scalars(sa.select(Notification.subject_key).where(
        Notification.user_id == user.id, Notification.kind == "callout")).all()
    return [i for i in map(called_id, keys) if i is not None]


@bp.route("/callouts")
@login_required
def callout_list():
    """The coordinator's call-outs of their areas; a volunteer's call-outs they were told of."""
    scopes = caller_scopes(current_user)
    query = sa.select(Callout)
    if current_user.is_admin:
        pass
    elif scopes:
        query = query.where(sa.or_(Callout.created_by == current_user.id,
                                   *(under(Callout.area_code, s) for s in scopes)))
    else:
        query = query.where(Callout.id.in_(_called_ids(current_user)))
    page = page_number()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Callout.id.desc())
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("callouts/list.html", callouts=rows, page=page, total=total,
                           per_page=PER_PAGE, now=utcnow(),
                           may_call=bool(_callable_areas(current_user)))


@bp.route("/callouts/new", methods=["GET", "POST"])
@login_required
def callout_new():
    areas = _callable_areas(current_user)
    if not areas:
        abort(403)
    form = CalloutForm()
    form.area.choices = place_choices(areas)
    form.skills.choices = [(code, str(title)) for code, title in SKILLS.items()]
    if request.method == "GET":
        form.skills.data = form.skills.data or ["first_aid"]

    def action():
        return services.create(services.CalloutInput(
            title=form.title.data, area_code=form.area.data, place=form.place.data,
            skills=form.skills.data or [], headcount=form.headcount.data,
            needed_by=_beijing(form.needed_by.data), ends_at=_beijing(form.ends_at.data)),
            actor=current_user)
    callout, status = submit(form, action, {"area_code": "area"})
    if callout is not None:
        if callout.notified:
            flash(ngettext("Called out: %(num)d volunteer was told.",
                           "Called out: %(num)d volunteers were told.", callout.notified),
                  "success")
        else:
            flash(_("Called out, but nobody was told: no verified volunteer living there has "
                    "those skills and is free then. Ask for other skills or a wider area."),
                  "warning")
        return redirect(url_for("callouts.callout_show", callout_id=callout.id))
    return render_template("callouts/new.html", form=form), status


def _beijing(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=SHANGHAI) if value is not None else None


@bp.route("/callouts/<int:callout_id>", methods=["GET", "POST"])
@login_required
def callout_show(callout_id: int):
    callout = db.session.get(Callout, callout_id) or abort(404)
    manage = can(current_user, "callout.manage", callout)
    volunteer = Volunteer.of_user(current_user)
    called = services.was_called(callout.id, current_user.id)
    if not (manage or called):
        abort(404)
    mine = db.session.scalar(sa.select(CalloutResponse).where(
        CalloutResponse.callout_id == callout.id,
        CalloutResponse.volunteer_id == volunteer.id)) if volunteer else None
    answer_form, withdraw_form, desk, end = AnswerForm(), WithdrawForm(), DeskForm(), EndForm()
    if request.method == "POST":
        try:
            if manage and end.end.data:
                if not end.validate_on_submit():
                    abort(400)
                told = services.stand_down(callout, actor=current_user)
                flash(ngettext("Ended: %(num)d volunteer was told to stand down.",
                               "Ended: %(num)d volunteers were told to stand down.", told),
                      "success")
            elif manage and (desk.check_in.data or desk.check_out.data):
                if not desk.validate_on_submit():
                    abort(400)
                response = db.session.get(CalloutResponse,
                                          parse_id(request.form.get("response")) or 0)
                if response is None or response.callout_id != callout.id:
                    abort(404)
                if desk.check_in.data:
                    services.check_in(response, actor=current_user)
                else:
                    services.check_out(response, actor=current_user)
            elif withdraw_form.withdraw.data and mine is not None:
                if not withdraw_form.validate_on_submit():
                    abort(400)
                services.withdraw(mine, actor=current_user)
                flash(_("Your answer is withdrawn. Thank you for saying so."), "info")
            elif answer_form.yes.data or answer_form.no.data:
                if not answer_form.validate_on_submit():
                    abort(400)
                yes = bool(answer_form.yes.data)
                eta = int(answer_form.eta.data) if yes and answer_form.eta.data else None
                response = services.answer(callout.id, volunteer, "yes" if yes else "no", eta,
                                           actor=current_user)
                flash({AnswerState.accepted: _("You are expected: please go to {place}."),
                       AnswerState.standby: _("All places are taken: you are on standby. We "
                                              "tell you at once if a place is freed."),
                       AnswerState.declined: _("Thank you for answering.")}[response.status]
                      .format(place=callout.place), "success")
            else:
                abort(400)
        except DomainError as exc:
            db.session.rollback()
            if exc.status == 404:
                abort(404)
            flash_refusal(exc)
            return redirect(url_for("callouts.callout_show", callout_id=callout.id))
        db.session.commit()
        return redirect(url_for("callouts.callout_show", callout_id=callout.id))
    return render_template(
        "callouts/show.html", c=callout, state=callout.state(), manage=manage, mine=mine,
        called=called, answer_form=answer_form, withdraw_form=withdraw_form, desk=desk, end=end,
        live=_live(callout) if manage else None, skills=SKILLS, STILL_IN=STILL_IN,
        CalloutState=CalloutState)


def _live(callout: Callout) -> dict:
    """What the coordinator's page shows and polls: the contract's summary, each response with
    the volunteer's name and phone, and the titles in the reader's language."""
    summary = services.summary(callout)
    people = {v.id: v for v in db.session.scalars(sa.select(Volunteer).where(
        Volunteer.id.in_([r["volunteer_id"] for r in summary["responses"]])))}
    for row in summary["responses"]:
        volunteer = people[row["volunteer_id"]]
        coming = row["status"] in STILL_IN
        row.update(name=volunteer.real_name, phone=volunteer.phone,
                   status_title=AnswerState(row["status"]).title,
                   eta_title=_("{n} min").format(n=row["eta_minutes"])
                   if coming and row["eta_minutes"] is not None else "—")
    summary["status_title"] = CalloutState(summary["status"]).title
    summary["skill_titles"] = {code: str(SKILLS.get(code, code)) for code in callout.skills}
    return summary


@bp.route("/callouts/<int:callout_id>/live")
@login_required
def callout_live(callout_id: int):
    """The coordinator's page polls this (every few seconds)."""
    callout = db.session.get(Callout, callout_id) or abort(404)
    if not can(current_user, "callout.manage", callout):
        abort(403)
    return jsonify(_live(callout))


@bp.app_template_global("my_callouts")
def my_callouts() -> list[tuple[Callout, CalloutResponse | None]]:
    """Open call-outs the signed-in volunteer was told of, with their answer (for /me)."""
    if not current_user.is_authenticated:
        return []
    ids = _called_ids(current_user)
    if not ids:
        return []
    volunteer = Volunteer.of_user(current_user)
    rows = db.session.scalars(sa.select(Callout).where(
        Callout.id.in_(ids), Callout.status != CalloutState.closed,
        Callout.ends_at > utcnow()).order_by(Callout.needed_by)).all()
    answers = {r.callout_id: r for r in db.session.scalars(sa.select(CalloutResponse).where(
        CalloutResponse.callout_id.in_([c.id for c in rows]),
        CalloutResponse.volunteer_id == (volunteer.id if volunteer else -1)))}
    return [(c, answers.get(c.id)) for c in rows]
