"""Run the fake upstream standalone: `python -m tests.fake_upstream --port 9100`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.fake_upstream.server import FakeUpstreamServer


async def _serve(host: str, port: int) -> None:
    server = FakeUpstreamServer(host=host, port=port)
    await server.start()
    print(f"fake upstream listening on {server.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
