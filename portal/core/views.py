"""Core pages: sign-in, home, areas, users, job progress, audit trail, language."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.core import areas as area_service
from portal.core.areas import CHILD_LEVEL, Area, AreaData, AreaLevel
from portal.core.audit import entries_for, object_area, object_page
from portal.core.auth import authenticate, client_address
from portal.core.db import SHANGHAI, parse_id
from portal.core.errors import DomainError
from portal.core.forms import AreaForm, LoginForm, LogoutForm, UserForm
from portal.core.i18n import normalise
from portal.core.jobs import JobRun, count_to, enqueue, revive
from portal.core.permissions import authorize, can
from portal.core.sms_gateways import sms_enabled
from portal.core.users import Role, User, create_user, parse_grants, visible_users
from portal.extensions import db, login_manager

bp = Blueprint("core", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    return db.session.get(User, parse_id(user_id) or 0)


@bp.before_app_request
def remember_language():
    chosen = normalise(request.args.get("lang"))
    if not chosen:
        return
    session["lang"] = chosen
    if current_user.is_authenticated and current_user.locale != chosen and \
            not request.path.startswith("/api/"):
        current_user.locale = chosen
        db.session.commit()


def flash_refusal(exc: DomainError) -> None:
    """A refused action from a page: the transaction undone and the reasons shown as a message
    above the page (a refusal for want of rights or of the thing itself is the error page)."""
    db.session.rollback()
    if exc.status in (403, 404):
        raise exc
    flash(" ".join([exc.message] + [m for ms in exc.fields.values() for m in ms
                                    if m != exc.message]), "danger")


def page_number() -> int:
    """?page= for page lists: a whole number between 1 and MAX_PAGE, whatever was sent."""
    from portal.core.apiframe import MAX_PAGE

    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return url_for("core.home")


def form_errors_from(form, exc: DomainError, aliases: dict | None = None) -> None:
    """Put a service's field errors next to the form's fields (translated by the service)."""
    placed = False
    for name, messages in exc.fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed:
        flash(exc.message, "danger")


def submit(form, action, aliases: dict | None = None):
    """The page's one transaction: validate the form, run one service call, commit.

    Returns (result, status). On a refusal nothing is written and the service's messages are put
    by their fields (403 and 404 propagate to the error page). (None, 200) means "show the form".
    """
    if not form.validate_on_submit():
        return None, 422 if request.method == "POST" else 200
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        form_errors_from(form, exc, aliases)
        return None, exc.status
    db.session.commit()
    return result, 200


# --- signing in and out ------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except DomainError as exc:
            form.password.errors = [exc.message]
            status = exc.status
        else:
            return _start_session(user)
    elif request.method == "POST":
        status = 422
    return render_template("core/login.html", form=form, via="password",
                           sms=sms_enabled()), status


def _start_session(user):
    chosen = normalise(session.get("lang"))
    session.clear()  # a fresh session at sign-in: no fixation
    login_user(user)
    session.permanent = True
    if not user.locale and chosen:
        user.locale = chosen  # the language picked before signing in stays
    if user.locale:
        session["lang"] = user.locale
    db.session.commit()
    target = _safe_next(request.args.get("next"))
    if user.has_role(Role.resident) and not user.community_code:
        return redirect(url_for("core.my_community", next=target))  # where do they live?
    return redirect(target)


def code_form_post(form, use) -> tuple[int, int | None, object]:
    """A posted phone-and-code form (sign-in, verifying one's phone): its "send code" button
    sends a code; its other button calls `use(phone, code)`. Returns (status, seconds until
    another code may be asked for, what `use` returned); refusals are put by their fields."""
    from portal.core.sms import mask_phone, normalise_mobile, send_code

    if not form.validate_on_submit():
        return 422, None, None
    if form.send.data:
        try:
            wait = send_code(form.phone.data, client_address())
        except DomainError as exc:
            db.session.rollback()
            form.phone.errors = [m for ms in exc.fields.values() for m in ms] or [exc.message]
            return exc.status, getattr(exc, "retry_after", None), None
        flash(_("A code was sent to {phone}. It is valid for 5 minutes.").format(
            phone=mask_phone(normalise_mobile(form.phone.data))), "success")
        form.code.data = ""
        return 200, wait, None
    if not (form.code.data or "").strip():
        form.code.errors = [_("Enter the code from the SMS.")]
        return 422, None, None
    try:
        return 200, None, use(form.phone.data, form.code.data)
    except DomainError as exc:
        db.session.rollback()
        placed = False
        for name, messages in exc.fields.items():
            if name in ("phone", "code"):
                form[name].errors = list(messages)
                placed = True
        if not placed:
            form.code.errors = [exc.message]
        return exc.status, None, None


@bp.route("/login/sms", methods=["GET", "POST"])
def login_sms():
    """Sign in with a phone and an SMS code (a first sign-in makes a resident account)."""
    from portal.core.forms import SmsCodeForm
    from portal.core.sms import sign_in_by_code

    form = SmsCodeForm()
    status, wait, user = 200, None, None
    if request.method == "POST":
        status, wait, user = code_form_post(form, lambda phone, code: sign_in_by_code(
            phone, code, client_address()))
        if user is not None:
            return _start_session(user)
    return render_template("core/login.html", form=LoginForm(), sms_form=form, via="sms",
                           sms=sms_enabled(), resend_after=wait), status


@bp.route("/me/phone", methods=["GET", "POST"])
@login_required
def my_phone():
    """Verify one's mobile number by a code: then one may sign in by SMS (staff excepted)."""
    from portal.core.forms import SmsCodeForm
    from portal.core.sms import verify_phone

    form = SmsCodeForm()
    form.submit.label.text = _("Verify")
    status, wait, done = 200, None, None
    if request.method == "POST":
        status, wait, done = code_form_post(form, lambda phone, code: verify_phone(
            current_user, phone, code) or True)
        if done:
            db.session.commit()
            flash(_("Your mobile number is verified."), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("core/my_phone.html", form=form, sms=sms_enabled(),
                           resend_after=wait), status


@bp.route("/me/community", methods=["GET", "POST"])
@login_required
def my_community():
    """Where a resident lives, in three taps: county, township, community (made for a phone)."""
    from portal.core.sms import choose_community

    if any(current_user.has_role(r) for r in (Role.admin, Role.bureau, Role.community_worker)):
        abort(403)
    if request.method == "POST":
        try:
            choose_community(current_user, request.form.get("community_code"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your community is {name}.").format(
                name=db.session.get(Area, current_user.community_code).name), "success")
            return redirect(_safe_next(request.args.get("next")))
    county = db.session.get(Area, request.args.get("county", "")) if request.args.get("county") \
        else None
    township = db.session.get(Area, request.args.get("township", "")) \
        if request.args.get("township") else None
    if township is not None and (county is None or township.parent_code != county.code):
        township = None
    parent = township or county
    level = (AreaLevel.community if township else AreaLevel.township if county
             else AreaLevel.county)
    query = sa.select(Area).where(Area.level == level).order_by(Area.code)
    if parent is not None:
        query = query.where(Area.parent_code == parent.code)
    current = db.session.get(Area, current_user.community_code) \
        if current_user.community_code else None
    return render_template("core/my_community.html", choices=db.session.scalars(query).all(),
                           county=county, township=township, level=level, current=current,
                           next=request.args.get("next"))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = LogoutForm()
    if request.method == "POST":
        if form.validate_on_submit():
            logout_user()
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            flash(_("You have signed out."), "success")
            return redirect(url_for("core.login"))
        abort(400)
    if not current_user.is_authenticated:
        return redirect(url_for("core.login"))
    return render_template("core/logout.html", form=form)


# --- home ------------------------------------------------------------------------------------

@bp.route("/")
def home():
    return render_template("core/home.html", logout_form=LogoutForm(), Role=Role)


# --- areas -----------------------------------------------------------------------------------

@bp.route("/areas")
@bp.route("/areas/<code>")
def areas(code: str | None = None):
    area = None
    if code is not None:
        area = db.session.get(Area, code)
        if area is None:
            abort(404)
    if area is None:
        rows = db.session.scalars(area_service.children(None)).all()
        if len(rows) == 1:
            return redirect(url_for("core.areas", code=rows[0].code))
    else:
        rows = db.session.scalars(area_service.children(area.code)).all()
    counts = dict(db.session.execute(
        sa.select(Area.parent_code, sa.func.count()).where(
            Area.parent_code.in_([r.code for r in rows])).group_by(Area.parent_code)).all())
    trail = _trail(area) if area else []
    form = None
    if area is not None and area.level in CHILD_LEVEL and can(current_user, "area.create",
                                                               area.code):
        form = AreaForm(code=area.code)
    return render_template("core/areas.html", area=area, rows=rows, counts=counts, trail=trail,
                           form=form, child_level=CHILD_LEVEL.get(area.level) if area else None)


@bp.post("/areas/<code>/children")
@login_required
def add_area(code: str):
    parent = db.session.get(Area, code)
    if parent is None:
        abort(404)
    authorize(current_user, "area.create", parent.code)
    form = AreaForm()
    child, status = submit(form, lambda: area_service.create_area(AreaData(
        code=form.code.data.strip(), name=form.name.data, parent_code=parent.code,
        population=form.population.data, households=form.households.data),
        actor=current_user))
    if child is not None:
        message = _("Added {name} ({code}).").format(name=child.name, code=child.code)
        if child.kind:
            message += " " + child.kind.title
        flash(message, "success")
        return redirect(url_for("core.areas", code=parent.code))
    rows = db.session.scalars(area_service.children(parent.code)).all()
    return render_template("core/areas.html", area=parent, rows=rows, counts={},
                           trail=_trail(parent), form=form,
                           child_level=CHILD_LEVEL.get(parent.level)), status


def _trail(area: Area) -> list[Area]:
    codes = [area.code[:n] for n in (4, 6, 9, 12) if n <= len(area.code)]
    found = {a.code: a for a in db.session.scalars(sa.select(Area).where(Area.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


# --- users -----------------------------------------------------------------------------------

@bp.route("/users")
@login_required
def users():
    authorize(current_user, "user.list")
    rows = db.paginate(visible_users(current_user).order_by(User.username),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("core/users.html", rows=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    authorize(current_user, "user.create")
    form = UserForm()
    if not current_user.is_admin:
        form.roles.choices = [c for c in form.roles.choices if c[0] != Role.admin.value]
        if request.method == "GET":
            form.area_code.data = current_user.primary_area_code

    def create():
        grants = parse_grants(form.roles.data, (form.area_code.data or "").strip() or None)
        authorize(current_user, "user.grant", grants)
        return create_user(form.username.data, form.password.data, grants, actor=current_user,
                           display_name=form.display_name.data or None)

    user, status = submit(form, create)
    if user is not None:
        flash(_("Account {name} created.").format(name=user.username), "success")
        return redirect(url_for("core.users"))
    return render_template("core/user_new.html", form=form), status


# --- jobs and audit --------------------------------------------------------------------------

@bp.route("/jobs/<job_id>")
@login_required
def job(job_id: str):
    run = db.session.get(JobRun, job_id)
    if run is None or not can(current_user, "job.view", run):
        abort(404)
    if revive(run):  # lost: queued again now, by whoever watches it first
        db.session.commit()
    return render_template("core/job.html", run=run, data=run.to_dict())


@bp.post("/jobs/self-test")
@login_required
def job_self_test():
    """Lets an operator see that jobs (and the worker) run: counts to 40 with progress."""
    authorize(current_user, "user.list")
    run = enqueue(count_to, 40, actor=current_user)
    db.session.commit()
    return redirect(url_for("core.job", job_id=run.id))


@bp.route("/audit/<object_type>/<object_id>")
@login_required
def audit(object_type: str, object_id: str):
    if object_area(object_type, object_id) is None:
        abort(404)
    authorize(current_user, "audit.read", (object_type, object_id))
    rows = db.session.scalars(entries_for(object_type, object_id)).all()
    return render_template("core/audit.html", rows=rows, object_type=object_type,
                           object_id=object_id, back=object_page(object_type, object_id))


@bp.route("/<any(terms, privacy):kind>")
def policy(kind: str):
    """The user agreement or the privacy policy in force, in the reader's language."""
    from portal.core.policies import KINDS, current

    version, text = current(kind)
    return render_template("core/policy.html", kind=kind, title=KINDS[kind], version=version,
                           text=text, may_edit=can(current_user, "policy.publish", kind))


@bp.route("/<any(terms, privacy):kind>/edit", methods=["GET", "POST"])
@login_required
def policy_edit(kind: str):
    """The city's bureau publishes a new version (the old ones stay, for past consents)."""
    from portal.core.forms import PolicyForm
    from portal.core.policies import DEFAULTS, KINDS, Policy, publish

    authorize(current_user, "policy.publish", kind)
    latest = db.session.scalars(sa.select(Policy).where(Policy.kind == kind)
                                .order_by(Policy.version.desc()).limit(1)).first()
    form = PolicyForm(data={"body_zh": latest.body_zh if latest else DEFAULTS[kind][0],
                            "body_en": latest.body_en if latest else DEFAULTS[kind][1]}
                      if request.method == "GET" else None)
    done, status = submit(form, lambda: publish(kind, form.body_zh.data, form.body_en.data,
                                                actor=current_user))
    if done is not None:
        flash(_("Published as version {n}: new registrations agree to it.").format(
            n=done.version), "success")
        return redirect(url_for("core.policy", kind=kind))
    return render_template("core/policy_edit.html", form=form, title=KINDS[kind]), status


AUDIT_PER_PAGE = 50


@bp.route("/audit")
@login_required
def audit_log():
    """The bureau's area-wide audit log, newest first: searchable by text (who, what, why),
    kind of object and dates. The admin sees everything."""
    from portal.core.areas import under
    from portal.core.audit import OBJECT_TITLES, AuditEntry

    scopes = list(current_user.scopes(Role.bureau))
    if not current_user.is_admin and not scopes:
        abort(403)
    args = request.args
    query = sa.select(AuditEntry)
    if not current_user.is_admin:
        query = query.where(sa.or_(*(under(AuditEntry.area_code, s) for s in scopes)))
    text = (args.get("q") or "").strip()[:100]
    if text:
        query = query.where(sa.or_(*(column.contains(text, autoescape=True) for column in (
            AuditEntry.actor_name, AuditEntry.reason, AuditEntry.from_value,
            AuditEntry.to_value)), AuditEntry.object_id == text))
    kind = args.get("type") or ""
    if kind in OBJECT_TITLES:
        query = query.where(AuditEntry.object_type == kind)
    for name, op in (("from", "ge"), ("to", "lt")):
        try:
            day = date.fromisoformat(args.get(name) or "")
        except ValueError:
            continue
        bound = datetime.combine(day + timedelta(days=1 if op == "lt" else 0), time(), SHANGHAI)
        query = query.where(AuditEntry.at >= bound if op == "ge" else AuditEntry.at < bound)
    page = page_number()
    rows = db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(AUDIT_PER_PAGE + 1)
                              .offset((page - 1) * AUDIT_PER_PAGE)).all()
    query_args = {k: v for k, v in args.items() if k != "page"}

    def page_url(n: int) -> str:
        return url_for("core.audit_log", **query_args, page=n)
    return render_template(
        "core/audit_log.html", rows=rows[:AUDIT_PER_PAGE], kinds=OBJECT_TITLES, args=args,
        object_page=object_page, prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if len(rows) > AUDIT_PER_PAGE else None)


@bp.route("/api/docs")
def api_docs():
    """The API's reference, rendered here from the OpenAPI document (no assets from elsewhere):
    for integrators on an intranet as much as for anyone with a clone."""
    from flask import current_app

    from portal.core.apiframe import build_openapi

    spec = build_openapi(current_app)
    schemas = spec["components"]["schemas"]
    groups: dict[str, list[dict]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = None
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = _schema_fields(schemas, ref.rsplit("/", 1)[1])
            groups.setdefault((op.get("tags") or ["other"])[0], []).append({
                "method": method.upper(), "path": path, "summary": op["summary"],
                "auth": bool(op.get("security")), "params": op.get("parameters", []),
                "body": body, "anchor": op["operationId"].replace(".", "-"),
                "responses": {k: v["description"] for k, v in op["responses"].items()
                              if k != "default"}})
    return render_template("core/api_docs.html", groups=dict(sorted(groups.items())),
                           spec=spec)


def _schema_fields(schemas: dict, name: str) -> list[dict]:
    """A request body's fields: name, type, whether required, and its limits, from its JSON
    schema (pydantic's)."""
    schema = schemas.get(name, {})
    required = set(schema.get("required", []))
    fields = []
    for field, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        kinds = []
        for option in options:
            if "$ref" in option:
                target = schemas.get(option["$ref"].rsplit("/", 1)[1], {})
                kinds.append("one of: " + ", ".join(map(str, target["enum"]))
                             if "enum" in target else option["$ref"].rsplit("/", 1)[1])
            elif option.get("type") == "array":
                item = option.get("items", {})
                of = item.get("type") or item.get("$ref", "").rsplit("/", 1)[-1] or "values"
                kinds.append(f"array of {of}")
            elif "enum" in option:
                kinds.append("one of: " + ", ".join(map(str, option["enum"])))
            elif option.get("type") != "null":
                kinds.append(option.get("type", "any"))
        limits = [f"{key} {option[key]}" for option in options
                  for key in ("minLength", "maxLength", "minimum", "maximum", "pattern",
                              "format") if key in option]
        fields.append({"name": field, "type": " | ".join(kinds) or "any",
                       "nullable": any(o.get("type") == "null" for o in options),
                       "required": field in required, "limits": ", ".join(limits),
                       "default": prop.get("default")})
    return fields


@bp.route("/healthz")
def healthz():
    """For load balancers: 200 while the database answers (`degraded` when the queue does not:
    pages and writes work, jobs wait in the database until Redis is back), 503 when the
    database does not."""
    from flask import current_app, jsonify

    from portal.core.jobs import (
        QUEUE_ERRORS,
        queue_failed,
        queue_usable,
        redis_connection,
        using_redis,
    )

    body = {"status": "ok", "db": "ok", "queue": "redis" if using_redis() else "inline"}
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # report, never raise: this is the health check
        current_app.logger.warning("healthz: database unreachable: %s", type(exc).__name__)
        db.session.rollback()
        body["db"], body["status"] = "unreachable", "error"
    if using_redis():
        try:
            if not queue_usable():  # failed a moment ago: not asked again yet
                raise ConnectionError("Redis failed less than a minute ago")
            redis_connection().ping()
        except (*QUEUE_ERRORS, ConnectionError) as exc:
            if queue_usable():
                queue_failed(exc, "(healthz)")
            body["queue"] = "unreachable"
            if body["status"] == "ok":
                body["status"] = "degraded"
    return jsonify(body), 503 if body["db"] != "ok" else 200

