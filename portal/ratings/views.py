"""Pages of 好差评: what one may rate (on /me), and the rating form."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.errors import DomainError
from portal.extensions import db
from portal.ratings import queries, services
from portal.ratings.forms import RatingForm
from portal.ratings.models import DIMENSIONS, LEVEL_TITLES, RatedKind

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
