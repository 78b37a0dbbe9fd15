"""One domain-error type and one renderer, shared by REST and WebSocket.

Every error Potluck sends, over HTTP or as a WebSocket `error` frame, has the contract's shape
`{"code": "<snake_case>", "message": "<human text>", "detail": {...}}`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypedDict

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorBody(TypedDict):
    code: str
    message: str
    detail: dict[str, Any]


class ApplicationError(Exception):
    """A domain error: services raise it, interfaces render it.

    `status` is used over HTTP; the WebSocket renders the same code and message as a frame.
    """

    code = "error"
    status: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail or {}

    def as_body(self) -> ErrorBody:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class NotFoundError(ApplicationError):
    code = "not_found"
    status: int = status.HTTP_404_NOT_FOUND

    def __init__(self, message: str = "Not found.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    status: int = status.HTTP_403_FORBIDDEN

    def __init__(
        self, message: str = "You do not have permission to do this.", **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)


class ConflictError(ApplicationError):
    status: int = status.HTTP_409_CONFLICT


Service = Literal["database", "redis"]

_DOWN_MESSAGES: dict[str, str] = {
    "database": "The database is unreachable right now. Try again in a moment.",
    "redis": "Redis is unreachable right now. Try again in a moment.",
}


class ServiceUnavailableError(ApplicationError):
    """A service Potluck needs is down, so the request was refused (and no provider call may
    start: callers fail closed). One code for every outage, `service_unavailable` (503), with
    `detail.service` naming the service."""

    code = "service_unavailable"
    status: int = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, service: Service, message: str | None = None) -> None:
        super().__init__(message or _DOWN_MESSAGES[service], detail={"service": service})
        self.service = service


def outage_error(exc: BaseException) -> ServiceUnavailableError | None:
    """The contract's error for an exception that means the database or Redis cannot be
    reached, or None for anything else (a bug stays a bug: an IntegrityError or a
    ProgrammingError is not an outage, and answers 500 as before).

    The one mapping place: the DRF exception handler, the chat socket and the /v1 gateway all
    ask it, so an outage reads the same everywhere."""
    if isinstance(exc, ServiceUnavailableError):
        return exc
    # Connection-level failures: OperationalError (refused, reset, server gone), InterfaceError
    # (a closed connection used again), and the bare DatabaseError some drivers raise for them.
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        return ServiceUnavailableError("database")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return ServiceUnavailableError("redis")
    return None


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> ErrorBody:
    return {"code": code, "message": message, "detail": detail or {}}


def _first_message(detail: Any) -> str:
    """The first human message in a DRF error structure, for the top-level `message`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            if inner:
                return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list):
        for item in detail:
            inner = _first_message(item)
            if inner:
                return inner
    return str(detail) if detail else ""


_DRF_CODES: dict[type[drf_exceptions.APIException], str] = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "not_authenticated",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
    drf_exceptions.ParseError: "validation_error",
    drf_exceptions.ValidationError: "validation_error",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: render every error in the contract's shape."""
    outage = outage_error(exc)
    if outage is not None:
        logger.warning("%s is down: %s: %s", outage.service, type(exc).__name__, exc)
        return Response(outage.as_body(), status=outage.status)
    if isinstance(exc, ApplicationError):
        return Response(exc.as_body(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        messages: dict[str, Any] = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = drf_exceptions.ValidationError(detail=messages)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response
    code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), "error")
    if isinstance(exc, drf_exceptions.ValidationError):
        fields: dict[str, Any] = (
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
        message = _first_message(fields) or "Invalid input."
        response.data = error_body(code, message, {"fields": fields})
    elif isinstance(exc, drf_exceptions.ParseError):
        response.data = error_body(code, str(exc.detail))
    else:
        extra: dict[str, Any] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf_exceptions.Throttled) and wait is not None:
            extra["retry_after_seconds"] = int(wait)
        response.data = error_body(code, str(exc.detail), extra)
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        # Session auth has no WWW-Authenticate challenge, so DRF answers 403; the contract says 401.
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response
