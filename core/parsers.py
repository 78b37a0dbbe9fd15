"""DRF's JSON parser and renderer, hardened against input that made them fail with a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's parser, except that JSON nested deeper than Python's recursion limit
    (`[[[[…]]]]`, a few hundred kilobytes) is a 400 like any other malformed body.

    The standard library's decoder raises RecursionError there, which DRF does not catch.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer (UTF-8 text), except for data that UTF-8 cannot encode.

    A lone surrogate ("\\ud800") is valid in a JSON string, so it reaches validation, and an error
    such as `"\\ud800" is not a valid choice.` echoes it back; encoding that as UTF-8 fails. Such a
    body is sent with ASCII escapes instead (still valid JSON, the same data).
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            rendered: bytes = super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            rendered = _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)
        return rendered
