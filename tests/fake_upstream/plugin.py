"""pytest fixtures for the fake upstream (filled in with the fake upstream server)."""

from __future__ import annotations
