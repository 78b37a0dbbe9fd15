"""JSON log lines for production: one object per line on stdout, ready for any log collector.

Each line has `time` (ISO 8601 UTC), `level`, `logger`, `message`, and `exc_info` when an exception
is attached. Extra attributes passed with `logger.info(..., extra={...})` are added as fields,
except those whose names look like secrets (password, token, key, secret, authorization, cookie),
which are written as "[redacted]": a log line must never carry a credential.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)
_SECRET_NAME = re.compile(r"pass|secret|token|key|authorization|cookie|session|credential", re.I)
REDACTED = "[redacted]"


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newlines inside: tracebacks are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        for name, value in record.__dict__.items():
            if name in _RECORD_ATTRIBUTES or name.startswith("_") or name in entry:
                continue
            # Django attaches the request to error records: keep its method and path only.
            if name == "request":
                entry["request"] = {
                    "method": getattr(value, "method", None),
                    "path": getattr(value, "path", None),
                }
                continue
            entry[name] = REDACTED if _SECRET_NAME.search(name) else _jsonable(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


# An invitation token in an SPA path (/invite/<token>) or in any `token=` query parameter.
_SECRET_PATH = re.compile(r"(/invite/|[?&]token=)[^/?#&\s]+")


class RedactSecretPaths(logging.Filter):
    """Mask secrets that travel in URLs (invitation tokens) in Django's request logs.

    `django.request` logs the full path of every 4xx/5xx answer ("Not Found: /invite/<token>");
    an invitation token is a credential until it is used, so it never reaches a log line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_PATH.sub(r"\1…", record.msg)
        return True
