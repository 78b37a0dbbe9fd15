"""Row ids as clients send them."""

from __future__ import annotations

# The largest id a row can have (a signed 64-bit integer, Postgres' bigint and SQLite's INTEGER).
# A larger number names no row; SQLite cannot even bind it (OverflowError), so ids from clients
# are checked before any query: in URL paths by `IdConverter`, in query strings by their parser.
MAX_ID = 2**63 - 1


def id_in_range(value: int) -> bool:
    return 0 < value <= MAX_ID


class IdConverter:
    """`<id:name>` in URL patterns: a row id from 1 to MAX_ID. Anything else matches no route,
    so it is a 404 before a view or a query runs (registered in `core.apps`)."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not id_in_range(number):
            raise ValueError(f"{value} is not a row id")  # Django: this pattern does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)
