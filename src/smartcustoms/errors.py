"""The base error every expected failure derives from, and the error body it renders to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One problem with a request: a stable code, a JSON pointer to the field, a sentence."""

    code: str
    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The problem as it appears in an error body."""
        return {"code": self.code, "pointer": self.pointer, "message": self.message}


class SmartCustomsError(Exception):
    """Base of every expected failure; carries its HTTP status and a stable code."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, problems: list[Problem] | None = None, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = list(problems or [])
        self.code = code or self.default_code

    def body(self) -> dict[str, Any]:
        """The error body: error, code, detail and every problem."""
        return {
            "error": self.title,
            "code": self.code,
            "detail": self.detail,
            "errors": [p.as_dict() for p in self.problems],
        }


class ValidationFailed(SmartCustomsError):
    """The request has one or more problems; all of them are listed."""

    status, default_code, title = 422, "validation_failed", "Validation failed"


class NotFound(SmartCustomsError):
    """The thing does not exist, or the caller may not know it exists."""

    status, default_code, title = 404, "not_found", "Not found"


class Conflict(SmartCustomsError):
    """The request conflicts with the current state; nothing was changed."""

    status, default_code, title = 409, "conflict", "Conflict"


class Unauthorized(SmartCustomsError):
    """No valid credentials were presented."""

    status, default_code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(SmartCustomsError):
    """The caller's role does not allow this action."""

    status, default_code, title = 403, "forbidden", "Forbidden"


class PayloadTooLarge(SmartCustomsError):
    """The uploaded content is larger than allowed."""

    status, default_code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(SmartCustomsError):
    """The uploaded content type is not accepted."""

    status, default_code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unavailable(SmartCustomsError):
    """The database cannot be reached now; nothing was changed (a gate keeps deciding from its local copy)."""

    status, default_code, title = 503, "unavailable", "Service unavailable"


class TooManyRequests(SmartCustomsError):
    """Too many attempts; try again after `retry_after` seconds (sent as Retry-After)."""

    status, default_code, title = 429, "too_many_requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, problems: list[Problem] | None = None, code: str | None = None) -> None:
        super().__init__(detail, problems, code=code)
        self.retry_after = max(1, retry_after)
