"""五社联动 portal: the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask, render_template, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

from portal.config import load_settings
from portal.extensions import babel, bootstrap, csrf, db, login_manager, migrate

log = logging.getLogger(__name__)
MAX_SEARCH_TERM = 100  # characters of a list's search term (`q`)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path))
    if config:
        app.config.update(config)
    if app.config.get("DB_BEHIND_PGBOUNCER") and \
            app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PgBouncer in transaction pooling hands each transaction to any server connection: a
        # statement psycopg prepared on one is unknown on the next, so prepare none.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {})["prepare_threshold"] = None
    app.json.ensure_ascii = False  # the contract: Chinese text unescaped
    from portal.core.db import BoundedInt

    app.url_map.converters["int"] = BoundedInt  # ids beyond the database's range are 404
    app.json.sort_keys = False

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _import_models()
    db.init_app(app)
    with app.app_context():
        from portal.core.pool import keep_prepared_on_rollback, ping_when_idle
        from portal.core.sqlite import harden

        harden(db.engine)
        ping_when_idle(db.engine, app.config["DB_PING_AFTER_IDLE"])
        keep_prepared_on_rollback(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..",
                                                     "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "core.login"
    login_manager.login_message = None
    csrf.init_app(app)
    bootstrap.init_app(app)

    from portal.core.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories="translations")

    _register_blueprints(app)
    _register_error_handlers(app)
    _register_hooks(app)

    from portal.cli import register_cli

    register_cli(app)
    return app


def _import_models() -> None:
    # Every model module, so that metadata (and Alembic) see every table.
    from portal.activities import models as activity_models  # noqa: F401
    from portal.activities import permissions as activity_permissions  # noqa: F401
    from portal.assignments import models as assignment_models  # noqa: F401
    from portal.callouts import models as callout_models  # noqa: F401
    from portal.callouts import permissions as callout_permissions  # noqa: F401
    from portal.charity import models as charity_models  # noqa: F401
    from portal.charity import permissions as charity_permissions  # noqa: F401
    from portal.core import areas, audit, jobs, notify, policies, sms, throttle, users  # noqa: F401
    from portal.needs import models as need_models  # noqa: F401
    from portal.needs import permissions as need_permissions  # noqa: F401
    from portal.orgs import models as org_models  # noqa: F401
    from portal.orgs import permissions as org_permissions  # noqa: F401
    from portal.projects import models as project_models  # noqa: F401
    from portal.projects import permissions as project_permissions  # noqa: F401
    from portal.ratings import models as rating_models  # noqa: F401
    from portal.ratings import permissions as rating_permissions  # noqa: F401
    from portal.records import models as record_models  # noqa: F401
    from portal.records import permissions as record_permissions  # noqa: F401
    from portal.volunteers import models as volunteer_models  # noqa: F401
    from portal.volunteers import permissions as volunteer_permissions  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from portal.activities.api import bp as activities_api
    from portal.activities.views import bp as activities_pages
    from portal.assignments.api import bp as assignments_api
    from portal.assignments.views import bp as assignments_pages
    from portal.callouts.api import bp as callouts_api
    from portal.callouts.views import bp as callouts_pages
    from portal.charity.api import bp as charity_api
    from portal.charity.views import bp as charity_pages
    from portal.core.api import bp as core_api
    from portal.core.views import bp as core_pages
    from portal.needs.api import bp as needs_api
    from portal.needs.views import bp as needs_pages
    from portal.orgs.api import bp as orgs_api
    from portal.orgs.views import bp as orgs_pages
    from portal.projects.api import bp as projects_api
    from portal.projects.views import bp as projects_pages
    from portal.ratings.api import bp as ratings_api
    from portal.ratings.views import bp as ratings_pages
    from portal.records.api import bp as records_api
    from portal.records.views import bp as records_pages
    from portal.volunteers.api import bp as volunteers_api
    from portal.volunteers.views import bp as volunteers_pages

    app.register_blueprint(core_pages)
    app.register_blueprint(orgs_pages)
    app.register_blueprint(volunteers_pages)
    app.register_blueprint(activities_pages)
    app.register_blueprint(records_pages)
    app.register_blueprint(projects_pages)
    app.register_blueprint(needs_pages)
    app.register_blueprint(charity_pages)
    app.register_blueprint(ratings_pages)
    app.register_blueprint(callouts_pages)
    app.register_blueprint(assignments_pages)
    for api in (core_api, orgs_api, volunteers_api, activities_api, records_api, projects_api,
                needs_api, charity_api, ratings_api, callouts_api,
                assignments_api):
        app.register_blueprint(api)
        csrf.exempt(api)  # the API takes bearer tokens, never the cookie, for writes


def _register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from portal.core.apiframe import (
        api_error_from_domain,
        api_error_from_http,
        default_message,
        error_response,
        is_api_request,
    )
    from portal.core.errors import DomainError

    def page(status: int, message: str | None = None):
        return render_template("errors/error.html", status=status,
                               message=message or default_message(status)), status

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if is_api_request():
            return api_error_from_domain(exc)
        return page(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        from flask_babel import gettext as _

        if is_api_request():
            return api_error_from_http(exc)
        return page(400, _("The form has expired. Please go back, reload and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if is_api_request():
            return api_error_from_http(exc)
        if exc.code and exc.code < 400:
            return exc
        return page(exc.code or 500)

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        if getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40P01", "40001"):
            # Two requests changed the same rows at once and the database chose one to undo:
            # nothing was written; say so, and that trying again will do.
            from flask_babel import gettext as _

            _end_session()
            message = _("Someone else changed this at the same time. Please reload.")
            if is_api_request():
                return error_response(409, "conflict", message)
            return page(409, message)
        log.error("database unavailable on %s %s: %s", request.method, request.path,
                  type(exc).__name__)
        _end_session()
        if is_api_request():
            return error_response(503, "unavailable", default_message(503))
        return page(503)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        _end_session()
        if is_api_request():
            return error_response(500, "internal_error", default_message(500))
        return page(500)


def _end_session() -> None:
    """Abandon the request's transaction, whatever state it is in: an error handler must answer
    even when the failure came after a commit, or from a connection that is gone."""
    try:
        db.session.rollback()
    except Exception:  # a session that cannot even roll back is replaced
        log.warning("could not roll back the failed request's session", exc_info=True)
        db.session.remove()


def _register_hooks(app: Flask) -> None:
    from portal.core.audit import action_title, object_title, value_title
    from portal.core.i18n import html_lang
    from portal.core.permissions import can

    app.add_template_filter(action_title, "audit_action")
    app.add_template_filter(value_title, "audit_value")
    app.add_template_filter(object_title, "audit_object")

    from portal.core.jobs import failure_text, result_label

    app.add_template_filter(result_label, "job_label")
    app.add_template_filter(failure_text, "job_failure")

    @app.context_processor
    def template_globals():
        from flask_login import current_user

        def user_can(action, obj=None):
            return can(current_user, action, obj)

        def with_lang(lang: str) -> str:
            """This page in another language, its other query parameters kept."""
            args = request.args.to_dict(flat=False)
            args["lang"] = [lang]
            from urllib.parse import urlencode

            return request.path + "?" + urlencode(args, doseq=True)

        return {"can": user_can, "html_lang": html_lang(get_locale()),
                "current_locale": str(get_locale()), "with_lang": with_lang}

    from portal.core.jobs import run_inline_jobs

    app.teardown_request(run_inline_jobs)

    @app.before_request
    def refuse_nul_characters():
        """PostgreSQL refuses NUL in text; refuse it at the door, in the path, query or form."""
        from werkzeug.exceptions import BadRequest

        values = [request.path, *request.args.values(), *request.form.values()] \
            if request.method != "GET" else [request.path, *request.args.values()]
        if any("\x00" in v for v in values):
            raise BadRequest()

    @app.before_request
    def refuse_long_search_terms():
        """A search term (`q`, on every list) longer than MAX_SEARCH_TERM is refused with 422
        by the field: a term is a few words, and SQLite refuses a LIKE pattern past 50 kB."""
        from flask_babel import gettext as _

        from portal.core.errors import ValidationFailed

        if len(request.args.get("q", "")) > MAX_SEARCH_TERM:
            message = _("A search term has at most {n} characters.").format(n=MAX_SEARCH_TERM)
            raise ValidationFailed(message, {"q": [message]})

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
