"""core.exceptions: which exceptions mean "a service is down", and how they are rendered."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.db import ProgrammingError as DjangoProgrammingError
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.exceptions import (
    ApplicationError,
    ServiceUnavailableError,
    exception_handler,
    outage_error,
)


@pytest.mark.parametrize(
    ("exc", "service"),
    [
        (OperationalError("connection refused"), "database"),
        (InterfaceError("connection already closed"), "database"),
        (DatabaseError("server closed the connection"), "database"),
        (RedisConnectionError("Error 111 connecting"), "redis"),
        (RedisTimeoutError("Timeout reading from socket"), "redis"),
        (BusyLoadingError("loading the dataset"), "redis"),
        (ServiceUnavailableError("redis"), "redis"),
    ],
)
def test_it_maps_an_outage_to_service_unavailable(exc: BaseException, service: str) -> None:
    outage = outage_error(exc)
    assert outage is not None
    assert (outage.code, outage.status, outage.detail) == (
        "service_unavailable",
        503,
        {"service": service},
    )
    assert outage.message.startswith(
        "The database is unreachable" if service == "database" else "Redis is unreachable"
    )


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("duplicate key"),
        DjangoProgrammingError("relation does not exist"),
        ResponseError("WRONGTYPE"),
        ApplicationError("Your budget is used up", code="budget_exceeded", status=402),
        ValueError("a bug"),
    ],
)
def test_it_leaves_bugs_and_refusals_alone(exc: BaseException) -> None:
    assert outage_error(exc) is None


def test_it_renders_a_database_error_in_the_contract_shape() -> None:
    # DRF's handler answers None (a 500) for exceptions it does not know: this one knows.
    response = exception_handler(OperationalError("connection refused"), {})
    assert response is not None
    assert response.status_code == 503
    assert response.data == {
        "code": "service_unavailable",
        "message": "The database is unreachable right now. Try again in a moment.",
        "detail": {"service": "database"},
    }
    assert exception_handler(IntegrityError("duplicate key"), {}) is None
