"""Pages: volunteer registration (oneself or by staff), the staff's list, the volunteer's /me."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from portal.core.areas import communities
from portal.core.auth import client_address
from portal.core.errors import TooManyAttempts
from portal.core.permissions import authorize, can
from portal.core.views import page_number, submit
from portal.extensions import db
from portal.volunteers import services
from portal.volunteers.api import registration_throttle
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS
from portal.volunteers.forms import (
    DeleteForm,
    ImportForm,
    ProfileForm,
    RegisterForm,
    VerifyForm,
)
from portal.volunteers.models import ID_TYPE_TITLES, Volunteer, VolunteerState
from portal.volunteers.queries import visible_volunteers

bp = Blueprint("volunteers", __name__)
GUARDIAN_FIELD = {"guardian": "guardian_consent"}


def _input(form: RegisterForm) -> services.VolunteerInput:
    return services.VolunteerInput(
        real_name=form.real_name.data, id_type=form.id_type.data, id_number=form.id_number.data,
        phone=form.phone.data, community_code=form.community_code.data,
        skills=form.skills.data or [], service_types=form.service_types.data or [],
        availability=form.availability.data or [], birth_date=form.birth_date.data,
        gender=form.gender.data or None, guardian_name=form.guardian_name.data,
        guardian_phone=form.guardian_phone.data, guardian_consent=form.guardian_consent.data,
        consent=bool(form.consent.data), consent_required=True,
        username=(form.username.data or "").strip() or None,
        password=form.password.data or None, email=form.email.data or None)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Self-registration; refused attempts count towards the per-address limit."""
    form = RegisterForm(communities=communities())
    throttle, address = registration_throttle(), client_address()
    if request.method == "POST" and throttle.blocked(address):
        raise TooManyAttempts(_("Too many refused registrations from this address. Please "
                                "wait 15 minutes and try again."))
    volunteer, status = submit(form, lambda: services.register_volunteer(_input(form),
                                                                         actor=None),
                               aliases=GUARDIAN_FIELD)
    if volunteer is not None:
        login_user(volunteer.user)
        db.session.commit()
        flash(_("Welcome! Your volunteer number is {code}.").format(
            code=volunteer.volunteer_code), "success")
        return redirect(url_for("volunteers.me"))
    if request.method == "POST":
        throttle.hit(address)
    return render_template("volunteers/register.html", form=form, staff=False), status


@bp.route("/volunteers/new", methods=["GET", "POST"])
@login_required
def register_for_someone():
    scopes = current_user.staff_scopes()
    if not scopes and not current_user.is_admin:
        abort(403)
    form = RegisterForm(communities=communities(None if current_user.is_admin else scopes))

    def create():
        authorize(current_user, "volunteer.register_for", form.community_code.data)
        return services.register_volunteer(_input(form), actor=current_user)

    volunteer, status = submit(form, create, aliases=GUARDIAN_FIELD)
    if volunteer is not None:
        flash(_("Registered {name}: volunteer number {code}.").format(
            name=volunteer.real_name, code=volunteer.volunteer_code), "success")
        return redirect(url_for("volunteers.volunteer_list"))
    return render_template("volunteers/register.html", form=form, staff=True), status


@bp.route("/volunteers")
@login_required
def volunteer_list():
    authorize(current_user, "volunteer.list")
    status = request.args.get("status")
    query = visible_volunteers(
        current_user, q=request.args.get("q"),
        status=VolunteerState(status) if status in VolunteerState.__members__ else None)
    page = db.paginate(query.order_by(Volunteer.id.desc()), page=page_number(), per_page=30,
                       error_out=False)
    return render_template("volunteers/list.html", page=page, verify_form=VerifyForm(),
                           VolunteerState=VolunteerState)


@bp.post("/volunteers/<int:volunteer_id>/verify")
@login_required
def verify(volunteer_id: int):
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or not can(current_user, "volunteer.view", volunteer):
        abort(404)
    form = VerifyForm()
    _result, _status = submit(form, lambda: services.verify_volunteer(volunteer,
                                                                      actor=current_user))
    if _result is not None:
        flash(_("{name} is verified.").format(name=volunteer.real_name), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(
        request.host_url) else url_for("volunteers.volunteer_list"))


@bp.route("/me")
@login_required
def me():
    from portal.activities.forms import CalendarLinkForm, CancelForm
    from portal.activities.queries import reason_title, recommendations
    from portal.activities.views import upcoming_signups
    from portal.records.views import me_context

    volunteer = Volunteer.of_user(current_user)
    upcoming = upcoming_signups(volunteer) if volunteer else []
    suggested = recommendations(volunteer, limit=5) if volunteer else []
    service = me_context(volunteer) if volunteer else {}
    return render_template("volunteers/me.html", v=volunteer, SKILLS=SKILLS,
                           SERVICE_TYPES=SERVICE_TYPES, ID_TYPE_TITLES=ID_TYPE_TITLES,
                           upcoming=upcoming, cancel_form=CancelForm(), suggested=suggested,
                           calendar_form=CalendarLinkForm(),
                           calendar_url=session.pop("calendar_url", None),
                           reason_title=reason_title, **service)


# --- bulk import -------------------------------------------------------------------------------

def _may_import() -> bool:
    return current_user.is_admin or bool(current_user.staff_scopes())


@bp.route("/volunteers/import/template.xlsx")
@login_required
def import_template():
    from portal.volunteers.imports import template

    if not _may_import():
        abort(403)
    return send_file(template(), as_attachment=True, download_name="志愿者导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/volunteers/import", methods=["GET", "POST"])
@login_required
def import_volunteers():
    """Upload a filled-in template; the import runs as a job whose progress page follows."""
    import uuid

    from portal.core.jobs import enqueue
    from portal.volunteers.imports import import_dir, run_import

    if not _may_import():
        abort(403)
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        content = upload.read() if upload else b""
        if not content.startswith(b"PK"):
            form.file.errors = [_("Choose an .xlsx file made from the template.")]
            status = 422
        else:
            path = import_dir() / f"upload-{uuid.uuid4().hex}.xlsx"
            path.write_bytes(content)
            run = enqueue(run_import, str(path), current_user.id, actor=current_user)
            db.session.commit()
            return redirect(url_for("core.job", job_id=run.id))
    elif request.method == "POST":
        status = 422
    return render_template("volunteers/import.html", form=form), status


@bp.route("/volunteers/import/reports/<name>")
@login_required
def import_report(name: str):
    """The rejected rows of one's own import (masked ID numbers and reasons)."""
    from portal.core.jobs import JobRun
    from portal.volunteers.imports import import_dir

    runs = db.session.scalars(sa.select(JobRun).where(
        JobRun.created_by == current_user.id, JobRun.status == "finished")).all()
    if not any(isinstance(r.result, dict) and r.result.get("report") == name for r in runs):
        abort(404)
    return send_file(import_dir() / name, as_attachment=True, download_name="未导入的行.xlsx")


def _my_volunteer_or_404() -> Volunteer:
    volunteer = Volunteer.of_user(current_user)
    if volunteer is None:
        abort(404)
    return volunteer


@bp.route("/me/edit", methods=["GET", "POST"])
@login_required
def edit_profile():
    volunteer = _my_volunteer_or_404()
    form = ProfileForm(obj=volunteer, communities=communities())
    fields = {"phone", "community_code", "skills", "service_types", "availability"}
    saved, status = submit(form, lambda: services.update_volunteer(
        volunteer, services.VolunteerInput(
            phone=form.phone.data, community_code=form.community_code.data,
            skills=form.skills.data or [], service_types=form.service_types.data or [],
            availability=form.availability.data or []), fields, actor=current_user))
    if saved is not None:
        flash(_("Saved."), "success")
        return redirect(url_for("volunteers.me"))
    return render_template("volunteers/edit.html", form=form, delete_form=DeleteForm()), status


@bp.post("/me/delete")
@login_required
def delete_account():
    from flask_login import logout_user

    volunteer = _my_volunteer_or_404()
    form = DeleteForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash(_("Tick the box to confirm."), "warning")
        return redirect(url_for("volunteers.edit_profile"))
    result, _status = submit(form, lambda: services.delete_volunteer(volunteer,
                                                                     actor=current_user))
    if result is not None:
        logout_user()
        flash(_("Your account is deleted."), "success")
    return redirect(url_for("core.home"))
