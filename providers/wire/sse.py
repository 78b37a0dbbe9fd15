"""An incremental Server-Sent Events parser (the WHATWG event-stream grammar).

Bytes go in as they arrive, split anywhere (inside a line, inside a multi-byte UTF-8 character,
between the CR and LF of a CRLF); complete events come out. Lines end with CRLF, LF or CR;
`data:` lines of one event are joined with LF; `:` lines are comments; unknown fields are
ignored; a blank line dispatches the event. An unterminated event at end of stream is dropped,
as the spec says: a truncated stream must never look complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEParser:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        self._buffer += chunk
        if self._at_start:
            if len(self._buffer) < len(_BOM) and _BOM.startswith(bytes(self._buffer)):
                return []  # could still be a split BOM
            if self._buffer.startswith(_BOM):
                del self._buffer[: len(_BOM)]
            self._at_start = False
        events: list[SSEEvent] = []
        pos = 0
        buffer = self._buffer
        while True:
            match = _LINE_END.search(buffer, pos)
            if match is None:
                break
            if match.group() == b"\r" and match.end() == len(buffer):
                self._skip_lf = True  # a CRLF may be split across two chunks
            event = self._line(bytes(buffer[pos : match.start()]))
            if event is not None:
                events.append(event)
            pos = match.end()
        del buffer[:pos]
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored.
        return None

    def _dispatch(self) -> SSEEvent | None:
        if self._id is not None:
            self._last_id = self._id
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(
            data="\n".join(self._data), event=self._event or "message", id=self._last_id
        )
        self._data = []
        self._event = ""
        return event
