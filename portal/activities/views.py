"""Pages: the public activity list and page with signup buttons, publishing, calendar files."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.activities import services
from portal.activities.api import activities_query
from portal.activities.forms import (
    ActivityForm,
    CalendarLinkForm,
    CancelForm,
    CodeForm,
    ShiftCancelForm,
    ShiftEditForm,
    ShiftForm,
    SignupForm,
)
from portal.activities.models import Activity, Shift, Signup, SignupState
from portal.core.areas import Area
from portal.core.audit import record
from portal.core.db import SHANGHAI, aware
from portal.core.permissions import can
from portal.core.users import Role
from portal.core.views import page_number, submit
from portal.extensions import db
from portal.orgs.models import Org, OrgAdmin, OrgState
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS
from portal.volunteers.models import Volunteer

bp = Blueprint("activities", __name__)


def my_volunteer() -> Volunteer | None:
    return Volunteer.of_user(current_user)


@bp.route("/activities")
def activity_list():
    from portal.core.areas import AreaLevel, place_choices

    page = db.paginate(activities_query(), page=page_number(), per_page=20, error_out=False)
    # Where, by name: the counties and their townships (a community's activities are also
    # found by its township's).
    places = place_choices(db.session.scalars(sa.select(Area).where(
        Area.level.in_((AreaLevel.county, AreaLevel.township))).order_by(Area.code)).all())
    return render_template("activities/list.html", page=page, SERVICE_TYPES=SERVICE_TYPES,
                           SKILLS=SKILLS, places=places)


@bp.route("/activities/<int:activity_id>", methods=["GET", "POST"])
def activity_show(activity_id: int):
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        abort(404)
    organiser = can(current_user, "activity.manage", activity)
    shift_forms, status = _shift_forms(activity) if organiser else ({}, 200)
    if request.method == "POST":
        if not organiser:
            abort(403)
        if status == 200:
            return redirect(url_for("activities.activity_show", activity_id=activity.id)
                            + "#shifts")
    volunteer = my_volunteer()
    mine = {}
    if volunteer is not None:
        mine = {s.shift_id: s for s in db.session.scalars(sa.select(Signup).where(
            Signup.volunteer_id == volunteer.id, Signup.status != SignupState.cancelled,
            Signup.shift_id.in_([s.id for s in activity.shifts])))}
    return render_template("activities/show.html", activity=activity, mine=mine,
                           volunteer=volunteer, signup_form=SignupForm(),
                           cancel_form=CancelForm(), SERVICE_TYPES=SERVICE_TYPES,
                           SKILLS=SKILLS, now=services.utcnow(), early=services.EARLY_CHECK_IN,
                           organiser=organiser, **shift_forms), status


def _shift_input(form) -> services.ShiftInput:
    """A shift's times (Beijing time when no offset) and places, from any of the shift forms."""
    return services.ShiftInput(starts_at=aware(form.starts_at.data),
                               ends_at=aware(form.ends_at.data), capacity=form.capacity.data,
                               waitlist=form.waitlist.data)


def _shift_forms(activity: Activity) -> tuple[dict, int]:
    """The organiser's forms on the activity page: add shifts (weekly if asked), and per shift
    that has not begun, change it or cancel it. On a POST, the one whose button was pressed is
    run: (forms, 200) when done or not posted, else its status with the errors by the fields."""
    add = ShiftForm(prefix="add")
    edits, cancels = {}, {}
    for shift in activity.shifts:
        if services.changeable(shift):
            posted = f"shift{shift.id}-save" in request.form
            # Not the one posted: filled from the shift (the post holds none of its fields, and
            # an absent checkbox would read as unticked).
            edits[shift.id] = ShiftEditForm(prefix=f"shift{shift.id}",
                                            formdata=request.form if posted else None)
            if not posted:
                edits[shift.id].process(data={
                    "starts_at": shift.starts_at.astimezone(SHANGHAI).replace(tzinfo=None),
                    "ends_at": shift.ends_at.astimezone(SHANGHAI).replace(tzinfo=None),
                    "capacity": shift.capacity, "waitlist": shift.waitlist})
            cancels[shift.id] = ShiftCancelForm(prefix=f"cancel{shift.id}")
    forms = {"add_shift": add, "edit_shifts": edits, "cancel_shifts": cancels}
    status, done = 200, None
    if request.method == "POST":
        if "add-save" in request.form:
            _result, status = submit(add, lambda: services.add_shifts(
                activity, services.weekly(_shift_input(add), add.repeat_until.data),
                actor=current_user))
            done = _("The shifts are added.")
        else:
            for shift in activity.shifts:
                edit, cancel = edits.get(shift.id), cancels.get(shift.id)
                if edit is not None and f"shift{shift.id}-save" in request.form:
                    _result, status = submit(edit, lambda s=shift, f=edit: services.update_shift(
                        s, _shift_input(f), actor=current_user))
                    done = _("The shift is changed; its volunteers are told.")
                    break
                if cancel is not None and f"cancel{shift.id}-cancel" in request.form:
                    _result, status = submit(
                        cancel, lambda s=shift, f=cancel: services.cancel_shift(
                            s, f.cancel_reason.data, actor=current_user),
                        {"cancel_reason": "cancel_reason"})
                    done = _("The shift is cancelled; its volunteers are told.")
                    break
            else:
                abort(400)
        if status == 200:
            flash(done, "success")
        else:
            db.session.expire_all()
    return forms, status


@bp.post("/shifts/<int:shift_id>/signup")
@login_required
def shift_signup(shift_id: int):
    shift = db.session.get(Shift, shift_id)
    if shift is None:
        abort(404)
    volunteer = my_volunteer()
    if volunteer is None:
        flash(_("Register as a volunteer first."), "warning")
        return redirect(url_for("volunteers.register"))
    form = SignupForm()
    signup, _status = submit(form, lambda: services.sign_up(shift, volunteer,
                                                            actor=current_user))
    if signup is not None:
        if signup.status is SignupState.confirmed:
            flash(_("You are signed up."), "success")
        else:
            flash(_("The shift is full: you are number {n} on the waiting list.").format(
                n=signup.waitlist_position()), "info")
    return redirect(url_for("activities.activity_show", activity_id=shift.activity_id))


@bp.post("/signups/<int:signup_id>/cancel")
@login_required
def signup_cancel(signup_id: int):
    signup = db.session.get(Signup, signup_id)
    if signup is None or not can(current_user, "signup.view", signup):
        abort(404)
    activity_id = signup.shift.activity_id
    result, _status = submit(CancelForm(), lambda: services.cancel_signup(signup,
                                                                          actor=current_user))
    if result is not None:
        flash(_("Your signup is cancelled."), "success")
    return redirect(url_for("activities.activity_show", activity_id=activity_id))


def _organisers():
    """Where the signed-in user may publish: their active organisations and communities."""
    choices = []
    orgs = db.session.scalars(sa.select(Org).join(OrgAdmin).where(
        OrgAdmin.user_id == current_user.id, Org.status == OrgState.active)).all()
    choices += [(f"org:{o.id}", o.name) for o in orgs]
    for code in current_user.scopes(Role.community_worker):
        area = db.session.get(Area, code)
        if area is not None and len(code) == 12:
            choices.append((f"community:{code}", area.name))
    return choices


@bp.route("/activities/new", methods=["GET", "POST"])
@login_required
def activity_new():
    organisers = _organisers()
    if not organisers:
        abort(403)
    form = ActivityForm(organisers=organisers)

    def create():
        kind, _sep, ref = form.organiser.data.partition(":")
        return services.create_activity(services.ActivityInput(
            title=form.title.data, org_id=int(ref) if kind == "org" else None,
            community_code=ref if kind == "community" else None,
            service_type=form.service_type.data, skills=form.skills.data or [],
            location=form.location.data, description=form.description.data,
            min_age=form.min_age.data, risky=form.risky.data, insurance=form.insurance.data,
            contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
            signup_closes_hours=form.signup_closes_hours.data or 0,
            shifts=services.weekly(_shift_input(form), form.repeat_until.data)),
            actor=current_user)

    activity, status = submit(form, create, aliases={"shifts.0": "starts_at"})
    if activity is not None:
        flash(_("Published."), "success")
        return redirect(url_for("activities.activity_show", activity_id=activity.id))
    return render_template("activities/new.html", form=form), status


@bp.route("/signups/<int:signup_id>.ics")
@login_required
def signup_ics(signup_id: int):
    """The shift as a calendar event, for the volunteer's phone calendar."""
    from portal.activities.calendar import calendar_of

    signup = db.session.get(Signup, signup_id)
    if signup is None or not can(current_user, "signup.view", signup):
        abort(404)
    return Response(calendar_of([signup], signup.shift.activity.title),
                    mimetype="text/calendar", headers={
                        "Content-Disposition": f"attachment; filename=shift-{signup.shift_id}.ics"})


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """All of a volunteer's shifts (and the last month's), at a private address a phone
    calendar subscribes to: no sign-in, the token is the key (revoked by making a new one)."""
    from portal.activities.calendar import calendar_of, feed_signups, volunteer_for_feed

    volunteer = volunteer_for_feed(token)
    if volunteer is None:
        abort(404)
    body = calendar_of(feed_signups(volunteer.id), _("My volunteer shifts"))
    return Response(body, mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.post("/me/calendar-link")
@login_required
def calendar_link():
    """Make (or make anew, revoking the old) the private address of my shifts' feed."""
    from portal.activities.calendar import new_feed_token

    volunteer = my_volunteer()
    if volunteer is None:
        abort(404)
    form = CalendarLinkForm()  # a CSRF-checked button, nothing more
    if not form.validate_on_submit():
        abort(400)
    token = new_feed_token(volunteer)
    record(current_user, "volunteer", volunteer.id, "calendar_link",
           area_code=volunteer.community_code)
    db.session.commit()
    # Shown once, where the volunteer is looking: only its hash is kept.
    session["calendar_url"] = url_for("activities.calendar_feed", token=token, _external=True)
    return redirect(url_for("volunteers.me") + "#calendar")


def upcoming_signups(volunteer: Volunteer):
    return db.session.scalars(
        sa.select(Signup).join(Shift, Shift.id == Signup.shift_id).where(
            Signup.volunteer_id == volunteer.id,
            Signup.status.in_((SignupState.confirmed, SignupState.waitlisted,
                               SignupState.checked_in)),
            Shift.ends_at > services.utcnow()).order_by(Shift.starts_at)).all()


# --- the roster and check-in ----------------------------------------------------------------

def _shift_for_organiser(shift_id: int) -> Shift:
    shift = db.session.get(Shift, shift_id)
    if shift is None or not can(current_user, "activity.manage", shift.activity):
        abort(404)
    return shift


@bp.route("/shifts/<int:shift_id>/roster")
@login_required
def roster(shift_id: int):
    """The organiser's phone page: who comes, check them in and out, the code and its QR."""
    shift = _shift_for_organiser(shift_id)
    signups = _roster_signups(shift)
    opens = shift.starts_at - services.EARLY_CHECK_IN
    return render_template("activities/roster.html", shift=shift, signups=signups,
                           form=CodeForm(), SignupState=SignupState, check_in_opens=opens,
                           check_in_open=services.utcnow() >= opens)


@bp.route("/shifts/<int:shift_id>/roster.xlsx")
@login_required
def roster_export(shift_id: int):
    """The roster in Excel, phone numbers included (for calling volunteers): the organiser's
    only, and audited, as every export of personal data is."""
    from portal.core.excel import add_sheet, caption, file_name, new_book, saved, xlsx_response

    shift = _shift_for_organiser(shift_id)
    signups = _roster_signups(shift)
    book = new_book()
    when = shift.starts_at.astimezone(SHANGHAI)
    add_sheet(book, "名单", ["序号", "姓名", "志愿者编号", "手机号码", "报名状态", "签到时间",
                           "签退时间"],
              [[n, su.volunteer.real_name, su.volunteer.volunteer_code, su.volunteer.phone or "",
                str(su.status.title), _local(su.checked_in_at), _local(su.checked_out_at)]
               for n, su in enumerate(signups, start=1)],
              title=caption(f"{shift.activity.title} {when:%Y-%m-%d %H:%M} 班次名单"))
    record(current_user, "activity", shift.activity_id, "roster_export",
           reason=f"shift {shift.id}: {len(signups)}", area_code=shift.activity.community_code)
    db.session.commit()
    return xlsx_response(saved(book), file_name(f"班次名单-{shift.activity.title[:30]}",
                                                day=when.date()))


def _local(when) -> str:
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if when else ""


def _roster_signups(shift: Shift) -> list[Signup]:
    return list(db.session.scalars(sa.select(Signup).where(
        Signup.shift_id == shift.id, Signup.status != SignupState.cancelled)
        .order_by(Signup.status, Signup.id)))


@bp.route("/shifts/<int:shift_id>/qr.svg")
@login_required
def shift_qr(shift_id: int):
    """The check-in QR: a link to the volunteer's check-in page with the code filled in."""
    from portal.core.qr import qr_svg

    shift = _shift_for_organiser(shift_id)
    url = url_for("activities.self_check_in", shift_id=shift.id, code=shift.check_in_code,
                  _external=True)
    return Response(qr_svg(url), mimetype="image/svg+xml")


@bp.post("/signups/<int:signup_id>/<any('check-in', 'check-out'):step>")
@login_required
def mark(signup_id: int, step: str):
    """Check in or out: the organiser from the roster, the volunteer with the code."""
    signup = db.session.get(Signup, signup_id)
    if signup is None or not can(current_user, "signup.view", signup):
        abort(404)
    form = CodeForm()
    action = services.check_in if step == "check-in" else services.check_out
    result, _status = submit(form, lambda: action(signup, actor=current_user,
                                                  code=form.code.data))
    if result is not None:
        flash(_("Checked in.") if step == "check-in" else _("Checked out: thank you!"),
              "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    if can(current_user, "activity.manage", signup.shift.activity):
        return redirect(url_for("activities.roster", shift_id=signup.shift_id))
    return redirect(url_for("activities.self_check_in", shift_id=signup.shift_id))


@bp.route("/shifts/<int:shift_id>/check-in")
@login_required
def self_check_in(shift_id: int):
    """Where the QR code leads: the volunteer's own signup with the code filled in."""
    shift = db.session.get(Shift, shift_id)
    volunteer = my_volunteer()
    if shift is None or volunteer is None:
        abort(404)
    signup = db.session.scalar(sa.select(Signup).where(
        Signup.shift_id == shift.id, Signup.volunteer_id == volunteer.id,
        Signup.status != SignupState.cancelled))
    form = CodeForm(code=request.args.get("code", ""))
    return render_template("activities/check_in.html", shift=shift, signup=signup, form=form)
