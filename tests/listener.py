"""A bare HTTP listener on 127.0.0.1 that records every request and answers one scripted response:
the "attacker's server" of the security tests (a redirect target, a foreign base URL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Listener:
    url: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"data": [], "models": []}'
    requests: list[Recorded] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def listener(**answer: object) -> Iterator[Listener]:
    state = Listener(url="", **answer)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            state.requests.append(
                Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
