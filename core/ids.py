"""Row ids as clients send them."""

from __future__ import annotations

# The largest id a row can have (a signed 64-bit integer, Postgres' bigint and SQLite's INTEGER).
# A larger number in a path or filter names no row; SQLite cannot even bind it
# (OverflowError), so selectors check it before querying.
MAX_ID = 2**63 - 1


def id_in_range(value: int) -> bool:
    return 0 < value <= MAX_ID
