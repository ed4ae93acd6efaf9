"""Pages of 好差评: what one may rate (on /me), and the rating form."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.areas import under
from portal.core.db import utcnow
from portal.core.errors import DomainError
from portal.core.permissions import asked_area
from portal.core.users import Role
from portal.core.views import flash_refusal, page_number
from portal.extensions import db
from portal.ratings import queries, services
from portal.ratings.forms import CaseActionForm, RatingForm
from portal.ratings.models import (
    DIMENSIONS,
    LEVEL_TITLES,
    LIVE_CASES,
    CaseState,
    RatedKind,
    Rating,
    Rectification,
)

bp = Blueprint("ratings", __name__)


@bp.app_template_global("services_to_rate")
def services_to_rate() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    return queries.to_rate(current_user)


@bp.route("/rate/<kind>/<int:object_id>", methods=["GET", "POST"])
@login_required
def rate(kind: str, object_id: int):
    try:
        rated = RatedKind(kind)
    except ValueError:
        abort(404)
    served = services.took_part(rated, object_id, current_user)  # 404 / 403 as pages
    form = RatingForm()
    form.level.choices = [(n, str(LEVEL_TITLES[n])) for n in (5, 4, 3, 2, 1)]
    for name in DIMENSIONS:
        form[name].choices = [(0, "—")] + [(n, str(n)) for n in (5, 4, 3, 2, 1)]
    status = 200
    if form.validate_on_submit():
        try:
            services.rate(services.RatingInput(
                object_type=rated.value, object_id=object_id, level=form.level.data,
                comment=form.comment.data or None,
                dimensions={n: form[n].data for n in DIMENSIONS if form[n].data} or None),
                rater=current_user)
        except DomainError as exc:
            db.session.rollback()
            if exc.status in (403, 404):
                raise
            if exc.status == 409:
                flash(exc.message, "warning")
                return redirect(url_for("volunteers.me"))
            for name, messages in exc.fields.items():
                field = name.split(".")[-1]
                if field in form._fields:
                    form[field].errors = list(form[field].errors) + list(messages)
            status = 422
        else:
            db.session.commit()
            flash(_("Thank you for your rating."), "success")
            return redirect(url_for("volunteers.me"))
    elif form.is_submitted():
        status = 422
    return render_template("ratings/rate.html", form=form, kind=rated, served=served), status


# --- cases (整改) ---------------------------------------------------------------------------------

def _party_cases(user):
    scope = services.party_scope(user)
    return None if scope is None else sa.select(Rectification).where(scope)


@bp.app_template_global("org_ratings")
def org_ratings(org) -> dict:
    """An organisation's last 12 months of ratings, for its public page (public from
    RATING_MIN_PUBLIC ratings; the bureau of its area sees them all)."""
    full = current_user.is_authenticated and current_user.covers(Role.bureau,
                                                                  org.community_code)
    return queries.monthly(queries.object_filter(RatedKind.org, org.id), full=full)


@bp.app_template_global("project_ratings")
def project_ratings(project_id: int) -> dict:
    """A project's ratings and their cases, in full, on the 绩效评估 form (the bureau's)."""
    return queries.figures(queries.object_filter(RatedKind.project, project_id), full=True)


@bp.app_template_global("rated_titles")
def rated_titles(ratings) -> dict:
    return queries.titles(ratings)


@bp.app_template_global("review_token_form")
def review_token_form() -> CaseActionForm:
    return CaseActionForm()


@bp.app_template_global("my_cases_summary")
def my_cases_summary() -> dict:
    """The cases the signed-in user answers for that are live, and those overdue (the home
    page flags them); and their own 差评s answered, awaiting their word (on /me)."""
    if not current_user.is_authenticated:
        return {"live": 0, "overdue": 0, "to_review": []}
    live = overdue = 0
    query = _party_cases(current_user)
    if query is not None:
        live_q = query.where(Rectification.status.in_(LIVE_CASES)).subquery()
        live = db.session.scalar(sa.select(sa.func.count()).select_from(live_q)) or 0
        overdue = db.session.scalar(sa.select(sa.func.count()).select_from(live_q).where(
            live_q.c.due_at < utcnow())) or 0
    to_review = db.session.scalars(
        sa.select(Rectification).join(Rating, Rating.id == Rectification.rating_id)
        .where(Rating.rater_id == current_user.id,
               Rectification.status == CaseState.answered)
        .order_by(Rectification.answered_at)).all()
    return {"live": live, "overdue": overdue, "to_review": to_review}


PER_PAGE = 50


@bp.route("/rectifications")
@login_required
def cases():
    """The party's cases (no rater shown); the bureau's of its area (with the rater)."""
    bureau = current_user.has_role(Role.bureau) and (
        request.args.get("area") or _party_cases(current_user) is None)
    if bureau:
        area = asked_area(current_user, "rating.cases", request.args.get("area"))
        query = sa.select(Rectification).where(under(Rectification.area_code, area.code))
    else:
        area = None
        query = _party_cases(current_user)
        if query is None:
            abort(403)
    if request.args.get("overdue"):
        query = query.where(Rectification.status.in_(LIVE_CASES),
                            Rectification.due_at < utcnow())
    live_first = sa.case((Rectification.status.in_(LIVE_CASES), 0), else_=1)
    page = page_number()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(live_first, Rectification.due_at, Rectification.id)
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    raters = {}
    if bureau:  # the bureau sees who rated; the party never does
        from portal.core.users import User

        ids = {c.rating.rater_id for c in rows if c.rating.rater_id}
        raters = {u.id: u.display_name or u.username for u in db.session.scalars(
            sa.select(User).where(User.id.in_(ids)))}
    return render_template("ratings/cases.html", cases=rows, bureau=bureau, area=area,
                           raters=raters, titles=queries.titles(c.rating for c in rows),
                           now=utcnow(), LIVE_CASES=LIVE_CASES, LEVEL_TITLES=LEVEL_TITLES,
                           page=page, per_page=PER_PAGE, total=total, form=CaseActionForm())


def _case_action(case_id: int, action, done: str):
    case = db.session.get(Rectification, case_id) or abort(404)
    form = CaseActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(case)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(request.form.get("next") or url_for("ratings.cases"))


@bp.post("/rectifications/<int:case_id>/answer")
@login_required
def case_answer(case_id: int):
    return _case_action(case_id, lambda case: services.answer(
        case, request.form.get("action"), request.form.get("text"), actor=current_user),
        _("Answered: the rater is told and says whether it satisfies them."))


@bp.post("/rectifications/<int:case_id>/review")
@login_required
def case_review(case_id: int):
    satisfied = {"yes": True, "no": False}.get(request.form.get("satisfied"))
    return _case_action(case_id, lambda case: services.review(
        case, satisfied, request.form.get("comment"), actor=current_user),
        _("Thank you: your word is recorded."))


@bp.post("/rectifications/<int:case_id>/appeal")
@login_required
def case_appeal(case_id: int):
    return _case_action(case_id, lambda case: services.appeal(
        case, request.form.get("reason"), actor=current_user),
        _("Appealed: the bureau decides."))


@bp.post("/rectifications/<int:case_id>/decide")
@login_required
def case_decide(case_id: int):
    void = {"void": True, "back": False}.get(request.form.get("decision"))
    return _case_action(case_id, lambda case: services.decide(
        case, void, request.form.get("reason"), actor=current_user),
        _("Decided: the party rated is told."))


# --- the bureau's dashboard ----------------------------------------------------------------

@bp.route("/ratings/dashboard")
@login_required
def dashboard():
    area = asked_area(current_user, "rating.cases", request.args.get("area"))
    where = queries.area_filter(area.code, None)
    return render_template("ratings/dashboard.html", area=area,
                           series=queries.monthly(where, full=True),
                           children=queries.by_child(area.code))


@bp.route("/ratings/dashboard/export.xlsx")
@login_required
def dashboard_export():
    from portal.core.excel import file_name, xlsx_response

    area = asked_area(current_user, "rating.cases", request.args.get("area"))
    return xlsx_response(queries.ratings_workbook(area), file_name("好差评", area.name))
