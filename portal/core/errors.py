"""Domain errors raised by services. Pages and the API turn them into responses.

A service never knows whether a person or a machine called it: it raises one of these, and
portal/core/api.py maps it to the contract's error shape, pages to a message by the field.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        return cls(message, {field: [message]})


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class TooManyAttempts(DomainError):
    status = 429
    code = "rate_limited"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
