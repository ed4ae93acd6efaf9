"""The frame every /api/v1 endpoint stands in: errors in the contract's one shape, bearer-token
authentication, JSON bodies validated by pydantic models, and the OpenAPI document built from
the app's own url map (so it cannot list a route that does not exist, or miss one that does).
"""

from __future__ import annotations

import re
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from portal.core.errors import DomainError

API_PREFIX = "/api/v1"

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large",
              415: "bad_request", 422: "validation_error", 429: "rate_limited"}


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = {k: [str(m) for m in v] for k, v in fields.items()}
    response = jsonify(body)
    response.status_code = status
    return response


def default_message(status: int) -> str:
    return {
        400: _("The request is malformed."),
        401: _("Please sign in: a valid API token is required."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("This conflicts with the current state."),
        413: _("The request or upload is too large."),
        415: _("The body must be JSON."),
        422: _("Please correct the marked fields."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. It has been logged."),
        503: _("The service is temporarily unavailable."),
    }.get(status, _("The request failed."))


def api_error_from_http(exc: HTTPException):
    status = exc.code or 500
    code = HTTP_CODES.get(status, "error" if status >= 500 else "bad_request")
    if status == 415:
        status = 400
    return error_response(status, code, default_message(exc.code or 500))


def api_error_from_domain(exc: DomainError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


class ApiAbort(DomainError):
    def __init__(self, status: int, message: str | None = None, fields: dict | None = None):
        super().__init__(message or default_message(status), fields)
        self.status = status
        self.code = HTTP_CODES[status]


# --- authentication ------------------------------------------------------------------------

def bearer() -> str | None:
    """The bearer token the request carries, None without an Authorization header; a header
    of another scheme, or with no token, is 401."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiAbort(401)
    return value.strip()


def api_user():
    """The caller: a bearer token's user, or for safe (read) requests the page session's user.

    The API never accepts the session cookie for writes, so pages' cookies can't be used to
    forge API writes (no CSRF hole).
    """
    if "api_user" in g:
        return g.api_user
    from portal.core.users import find_token

    user, token, value = None, None, bearer()
    if value is not None:
        token = find_token(value)
        if token is None:
            raise ApiAbort(401, _("The API token is invalid, expired or revoked."))
        user = token.user
    elif request.method in ("GET", "HEAD") and current_user.is_authenticated:
        user = current_user._get_current_object()
    g.api_user, g.api_token = user, token
    return user


def signed_in_by(token) -> None:
    """The caller is this live token's user: for an endpoint that found the token in a
    statement of its own (with `users.live_token`'s rule), in place of `api_user`'s."""
    g.api_user, g.api_token = token.user, token


def visible_or_404(model, object_id: int, user, action: str):
    """The object, or 404 when there is none or the caller may not know it exists."""
    from portal.core.permissions import can
    from portal.extensions import db

    obj = db.session.get(model, object_id)
    if obj is None or not can(user, action, obj):
        raise ApiAbort(404)
    return obj


def require_user():
    user = api_user()
    if user is None:
        raise ApiAbort(401)
    return user


# --- bodies and queries ---------------------------------------------------------------------

# pydantic error types that mean "wrong JSON type" (400) rather than "invalid value" (422).
TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "float_type", "bool_type",
               "list_type", "dict_type", "model_type", "decimal_type", "is_instance_of",
               "model_attributes_type", "int_from_float", "bool_parsing", "float_parsing",
               "date_type", "datetime_type", "none_required", "dataclass_type"}


def raw_json():
    """The parsed body, or None when it is not JSON. Never raises: a body nested too deep for
    the parser is simply not JSON here."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def has_nul(value) -> bool:
    """NUL characters: PostgreSQL refuses them in text, so they are refused at the door."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def json_body(model: type[BaseModel]) -> BaseModel:
    data = raw_json()
    if not isinstance(data, dict):
        raise ApiAbort(400, _("The body must be a JSON object."))
    if has_nul(data):
        raise ApiAbort(400, _("The request contains a NUL character."))
    try:
        return model.model_validate(data)  # models are strict (Body); a field may opt out
    except ValidationError as exc:
        raise _translate(exc) from None


def require_from_body(user, action: str, key: str = "area_code") -> None:
    """403 unless `user` may do `action` on the body's `key` (read before the body is judged:
    authorisation comes before validation, so a stranger's bad body is still 403)."""
    from portal.core.permissions import can

    raw = raw_json()
    value = raw.get(key) if isinstance(raw, dict) else None
    if not can(user, action, value if isinstance(value, str) else None):
        raise ApiAbort(403)


def optional_body(model: type[BaseModel]) -> BaseModel:
    """A body that may be left out (no body, or {}): the model's defaults then."""
    raw = raw_json()
    return json_body(model) if raw not in (None, {}) or request.data else model()


def _translate(exc: ValidationError) -> ApiAbort:
    fields: dict[str, list[str]] = {}
    wrong_type = False
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        kind = err["type"]
        if kind in TYPE_ERRORS:
            wrong_type = True
            message = _("Wrong type.")
        elif kind == "missing":
            message = _("This field is required.")
        elif kind == "extra_forbidden":
            message = _("Unknown field.")
        elif kind in ("string_too_short",):
            message = _("This field is required.") if err.get("ctx", {}).get("min_length") == 1 \
                else _("Too short.")
        elif kind == "string_too_long":
            message = _("At most {n} characters.").format(n=err["ctx"]["max_length"])
        elif kind in ("literal_error", "enum"):
            message = _("Not one of the allowed values.")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            message = _("Out of range.")
        elif kind == "value_error":
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            message = _("Invalid value.")
        fields.setdefault(name, []).append(message)
    if wrong_type:
        return ApiAbort(400, _("Some fields have the wrong type."), fields)
    return ApiAbort(422, _("Please correct the marked fields."), fields)


MAX_PAGE = 100_000


def pagination() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 20))
    except ValueError:
        raise ApiAbort(400, _("page and per_page are whole numbers.")) from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= 100:
        raise ApiAbort(422, _("page ≥ 1 and 1 ≤ per_page ≤ 100."),
                       {"per_page": [_("page ≥ 1 and 1 ≤ per_page ≤ 100.")]})
    return page, per_page


def paginate(select, to_dict, *, session=None, prepare=None):
    """Run a select as one page of the contract's list shape. `prepare(rows)` may load what all
    rows need in one query; its result is passed to to_dict as a second argument."""
    import sqlalchemy as sa

    from portal.extensions import db

    page, per_page = pagination()
    session = session or db.session
    total = session.scalar(sa.select(sa.func.count()).select_from(select.order_by(None).subquery()))
    rows = session.scalars(select.limit(per_page).offset((page - 1) * per_page)).all()
    if prepare is not None:
        extra = prepare(rows)
        items = [to_dict(r, extra) for r in rows]
    else:
        items = [to_dict(r) for r in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


# --- OpenAPI -----------------------------------------------------------------------------------

def doc(summary: str, *, body: type[BaseModel] | None = None, auth: bool = True,
        responses: dict[int, str] | None = None, tag: str | None = None,
        query: tuple[str, ...] = (), paged: bool = False):
    """Describe an endpoint for the OpenAPI document: `query` names its filters, `paged` adds
    page and per_page (the contract's list shape)."""
    def decorator(fn):
        fn._openapi = {"summary": summary, "body": body, "auth": auth,
                       "responses": responses or {}, "tag": tag,
                       "query": tuple(query) + (("page", "per_page") if paged else ())}

        @wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        wrapper._openapi = fn._openapi
        return wrapper
    return decorator


_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def build_openapi(app) -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {
                               "type": "array", "items": {"type": "string"}}}}}}}}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "_openapi", {})
        path = openapi_path(rule.rule)
        params = []
        for converter, name in _CONVERTER.findall(rule.rule):
            params.append({"name": name, "in": "path", "required": True,
                           "schema": {"type": "integer" if converter == "int" else "string"}})
        for name in meta.get("query", ()):
            params.append({"name": name, "in": "query", "required": False,
                           "schema": {"type": "integer"} if name in ("page", "per_page")
                           else {"type": "string"}})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": meta.get("summary") or (view.__doc__ or rule.endpoint).strip()
                .splitlines()[0],
                "responses": {"default": {"description": "error",
                                          "content": {"application/json": {
                                              "schema": {"$ref": "#/components/schemas/Error"}}}}},
            }
            for status, text in (meta.get("responses") or {200: "OK"}).items():
                op["responses"][str(status)] = {"description": text}
            if params:
                op["parameters"] = params
            if meta.get("tag"):
                op["tags"] = [meta["tag"]]
            if meta.get("auth", True):
                op["security"] = [{"bearer": []}]
            else:
                op["security"] = []
            body = meta.get("body")
            if body is not None and method in ("POST", "PUT", "PATCH", "DELETE"):
                schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[body.__name__] = schema
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{body.__name__}"}}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "五社联动 portal API", "version": "1",
                 "description": "The JSON API of the portal; read as a page at /api/docs."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def openapi_view():
    return jsonify(build_openapi(current_app))
