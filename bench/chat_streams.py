"""Chat streaming benchmark: what Potluck adds on top of the provider, N streams at once.

How to run (Postgres and Redis as in CI; a fresh database is created and dropped for the run):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.chat_streams --n 1,50,200

What runs: Potluck as production runs it (Daphne serving `server.asgi:application`, via
`tests.e2e.live.live_app`, settings `bench.settings`: the local settings with the per-user limits
CHAT_MAX_CONCURRENT_GENERATIONS and CHAT_MESSAGES_PER_MINUTE raised and a fast password hasher
for the logins), the fake upstream (`tests.fake_upstream`) in its own process, and the clients
in this process. One organisation, one user per client (so the per-user limits and the `user.<id>`
fan-out stay realistic), an openai_compatible provider key pointing at the fake and an enabled
priced model. Every request is answered with 64 text deltas, 20 ms apart (`PIECES`).

For each N, `ceil(--samples / N)` rounds; each round runs, one after the other:
- direct: N concurrent aiohttp streaming requests straight to the fake;
- Potluck: N WebSocket clients (session cookie from a real HTTP login, an allowed Origin),
  connected first, then all sending `message.send` at once and timing `message.delta` frames,
  until `message.completed`; then each reads its conversation over REST.
One warm-up stream of each kind runs first and is not counted.

Definitions (all times are CLOCK_MONOTONIC, shared by the processes of this machine):
- emit time of token k: when the fake handed the SSE event carrying the k-th text delta to its
  transport (recorded inside the fake process by a wrapper around `StreamResponse.write`; the
  stream is identified by the last user message, unique per client).
- time to first token (TTFT): arrival of the first text (SSE event, or `message.delta` frame)
  minus the moment the client sent its request (POST, or `message.send`).
- per-token delivery delay of token k: arrival of the SSE event or `message.delta` frame whose
  text completes token k (frames may batch several tokens: each of them gets that frame's
  arrival), minus the emit time of token k. Direct, this is the loopback and client cost.
- "added" figures: the Potluck percentile minus the direct percentile of the same round set
  (p50 over all streams for TTFT; p50/p99 over all tokens of all streams for the delay).
- lost: streams whose stored assistant message (GET /api/conversations/{id}/messages/) is not
  `complete` with exactly the text the upstream sent; "gaps": streams whose concatenated
  `message.delta` texts differ from it (deltas are best-effort by contract, the store is not);
  failed: streams that did not end with `message.completed` in time.
- CPU s/1k chunks: Daphne's user+system CPU time (/proc/<pid>/stat, all threads) during the
  Potluck phases, per 1,000 upstream deltas relayed.

The machine's other load (Postgres, Redis, the fake and the clients share its cores) is part of
the measurement; run it on an otherwise idle machine for stable figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench"
MODEL_ID = "bench-model"
UPSTREAM_MODEL = "llama3.2:latest"
PIECES = [f"t{k:02d}é " for k in range(64)]  # equal lengths: token k is text[5k:5k+5]
PIECE_LEN = len(PIECES[0])
TEXT = "".join(PIECES)
PACE = 0.02
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a throwaway database's users
PHASE_TIMEOUT = 120.0


# --- the fake upstream, with emit times (runs in its own process) ---------------------------------

_STREAM: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_stream", default=None)


def serve_fake(port: int) -> None:
    """`tests.fake_upstream` on `port`, recording when each text delta is written, per stream.

    GET /_fake/bench/emits answers {stream id: [emit times]}; POST resets them. Nothing else
    about the fake changes.
    """
    from aiohttp import web

    from tests.fake_upstream.server import FakeUpstreamServer, _last_user_text

    emits: dict[str, list[float]] = {}
    original_write = web.StreamResponse.write

    async def timed_write(self: web.StreamResponse, data: bytes | bytearray | memoryview) -> None:
        stream = _STREAM.get()
        if stream is not None:
            raw = bytes(data)
            if b'"content":"' in raw and b'"content":""' not in raw:
                emits.setdefault(stream, []).append(time.monotonic())
        await original_write(self, data)

    web.StreamResponse.write = timed_write  # type: ignore[method-assign]

    class TimedFake(FakeUpstreamServer):
        async def _answer(
            self,
            request: web.Request,
            record: Any,
            provider: str,
            endpoint: str,
            model: str | None,
            body: Any,
        ) -> web.StreamResponse:
            token = _STREAM.set(_last_user_text(provider, body))
            try:
                return await super()._answer(request, record, provider, endpoint, model, body)
            finally:
                _STREAM.reset(token)

        async def _control(self, request: web.Request) -> web.StreamResponse:
            if request.path == "/_fake/bench/emits":
                if request.method == "POST":
                    emits.clear()
                    return web.json_response({"ok": True})
                return web.json_response(emits)
            return await super()._control(request)

    async def serve() -> None:
        server = TimedFake(port=port)
        await server.start()
        print(f"fake upstream listening on {server.url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


@contextmanager
def fake_process(port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.chat_streams", "--serve-fake", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_fake/health", timeout=1):  # noqa: S310
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake upstream did not start; see {log}") from None
                time.sleep(0.1)
        _post_json(
            f"{url}/_fake/script",
            {
                "key": KEY,
                "provider": "openai_compatible",
                "text": TEXT,
                "deltas": len(PIECES),
                "delay": PACE,
                "times": None,
            },
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _post_json(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - a local URL
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


# --- seeding (runs inside `manage.py shell` of the app under test) --------------------------------


def seed(*, users: int, base_url: str) -> None:
    """Create the org, `users` members, the provider key and the model; print the emails."""
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password

    from accounts.models import Membership, Organization, Role, User
    from providers.models import AIModel, ProviderKey

    org = Organization.objects.create(name="Bench")
    password = make_password(PASSWORD)
    created = User.objects.bulk_create(
        [User(email=f"bench{i}@example.com", password=password) for i in range(users)]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, organization=org, role=Role.MEMBER) for u in created]
    )
    key = ProviderKey.objects.create(
        organization=org,
        provider="openai_compatible",
        label="fake",
        base_url=base_url,
        api_key="sk-bench-0000",
        key_last4="0000",
    )
    AIModel.objects.create(
        organization=org,
        provider_key=key,
        model_id=MODEL_ID,
        name=UPSTREAM_MODEL,
        input_usd_per_mtok=Decimal("0.15"),
        output_usd_per_mtok=Decimal("0.60"),
    )
    print(json.dumps([u.email for u in created]))


# --- measurement ----------------------------------------------------------------------------------


@dataclass
class Stream:
    stream_id: str
    sent: float = 0.0
    frames: list[tuple[float, str]] = field(default_factory=list)  # (arrival, text)
    completed: bool = False
    stored_ok: bool | None = None
    conversation_id: int | None = None
    error: str = ""

    @property
    def ttft(self) -> float | None:
        return self.frames[0][0] - self.sent if self.frames else None

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.frames)

    def token_delays(self, emits: Sequence[float]) -> list[float]:
        """Arrival of the frame completing token k minus emit time of token k, for each k."""
        delays: list[float] = []
        received = 0
        token = 0
        for arrival, text in self.frames:
            received += len(text)
            while token < len(emits) and (token + 1) * PIECE_LEN <= received:
                delays.append(arrival - emits[token])
                token += 1
        return delays


async def direct_client(session: aiohttp.ClientSession, fake_url: str, stream: Stream) -> None:
    body = {
        "model": UPSTREAM_MODEL,
        "messages": [{"role": "user", "content": stream.stream_id}],
        "stream": True,
    }
    try:
        stream.sent = time.monotonic()
        async with session.post(
            f"{fake_url}/k/{KEY}/ollama/v1/chat/completions", json=body
        ) as response:
            async for line in response.content:
                now = time.monotonic()
                if not line.startswith(b"data: {"):
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        stream.frames.append((now, text))
        stream.completed = True
        stream.stored_ok = stream.text == TEXT
    except Exception as exc:  # a benchmark reports failures, it does not stop on them
        stream.error = repr(exc)


@dataclass
class Client:
    """A logged-in user with an open socket."""

    session: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse | None = None


async def login(app_url: str, email: str) -> aiohttp.ClientSession:
    """A session logged in over HTTP. Retried: on a busy shared machine Postgres can briefly run
    out of connections (each HTTP request runs in a new thread with a connection of its own)."""
    for attempt in range(5):
        try:
            return await _login(app_url, email)
        except (RuntimeError, aiohttp.ClientError):
            if attempt == 4:
                raise
            await asyncio.sleep(1 + attempt)
    raise AssertionError("unreachable")


async def _login(app_url: str, email: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
    )
    async with session.get(f"{app_url}/api/auth/csrf/") as response:
        response.raise_for_status()
    csrf = next(c.value for c in session.cookie_jar if c.key == "csrftoken")
    async with session.post(
        f"{app_url}/api/auth/login/",
        json={"email": email, "password": PASSWORD},
        headers={"X-CSRFToken": csrf, "Origin": app_url, "Referer": f"{app_url}/"},
    ) as response:
        if response.status != 200:
            await session.close()
            raise RuntimeError(f"login of {email}: {response.status} {await response.text()}")
    return session


async def potluck_client(
    client: Client, app_url: str, stream: Stream, go: asyncio.Event, done: asyncio.Event
) -> None:
    ws = client.ws
    assert ws is not None
    client_id = stream.stream_id
    message_id: int | None = None
    deltas: list[tuple[float, int, str]] = []
    try:
        await go.wait()
        stream.sent = time.monotonic()
        await ws.send_json(
            {
                "type": "message.send",
                "conversation_id": None,
                "model": MODEL_ID,
                "content": stream.stream_id,
                "client_id": client_id,
            }
        )
        async for msg in ws:
            now = time.monotonic()
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "message.delta":
                deltas.append((now, frame["message_id"], frame["text"]))
            elif kind == "message.created" and frame.get("client_id") == client_id:
                message = frame["message"]
                stream.conversation_id = message["conversation_id"]
                if message["role"] == "assistant":
                    message_id = message["id"]
            elif kind in ("message.completed", "message.failed"):
                if frame["message"]["id"] == message_id:
                    stream.completed = kind == "message.completed"
                    if not stream.completed:
                        stream.error = json.dumps(frame["message"].get("error"))
                    break
            elif kind == "error":
                stream.error = json.dumps(frame)
                break
    except Exception as exc:
        stream.error = repr(exc)
    finally:
        stream.frames = [(t, text) for t, mid, text in deltas if mid == message_id]
        done.set()


async def stored_check(client: Client, app_url: str, stream: Stream) -> None:
    if stream.conversation_id is None:
        stream.stored_ok = False
        return
    url = f"{app_url}/api/conversations/{stream.conversation_id}/messages/"
    for attempt in range(5):  # see `login` on retries
        async with client.session.get(url) as response:
            data = await response.json()
            status = response.status
        if status < 500:
            break
        await asyncio.sleep(1 + attempt)
    if status != 200:
        stream.stored_ok = False
        stream.error = stream.error or f"GET messages: {status} {data}"
        return
    items = data["results"] if isinstance(data, dict) else data
    answers = [m for m in items if m["role"] == "assistant"]
    stream.stored_ok = (
        len(answers) == 1 and answers[0]["status"] == "complete" and answers[0]["content"] == TEXT
    )


def _log(line: str) -> None:
    if os.environ.get("BENCH_VERBOSE"):
        print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fetch_emits(session: aiohttp.ClientSession, fake_url: str) -> dict[str, list[float]]:
    async with session.get(f"{fake_url}/_fake/bench/emits") as response:
        emits: dict[str, list[float]] = await response.json()
    async with session.post(f"{fake_url}/_fake/bench/emits") as response:
        await response.read()
    return emits


async def _bounded(coros: Sequence[Awaitable[Any]], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[Any]) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


@dataclass
class RoundResult:
    direct: list[Stream]
    potluck: list[Stream]
    emits: dict[str, list[float]]
    cpu: float


async def run_round(
    *, n: int, app_url: str, fake_url: str, emails: list[str], daphne_pid: int, tag: str
) -> RoundResult:
    plain = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
    )
    clients = [
        Client(session=s)
        for s in await _bounded([login(app_url, email) for email in emails[:n]], 8)
    ]
    try:
        # Direct to the fake.
        direct = [Stream(f"{tag} direct {i}") for i in range(n)]
        await asyncio.wait_for(
            asyncio.gather(*(direct_client(plain, fake_url, s) for s in direct)), PHASE_TIMEOUT
        )
        # Through Potluck.
        ws_url = app_url.replace("http://", "ws://") + "/ws/chat/"

        async def connect(client: Client) -> None:
            client.ws = await client.session.ws_connect(
                ws_url, headers={"Origin": app_url}, heartbeat=None, max_msg_size=0
            )

        await _bounded([connect(c) for c in clients], 32)
        _log(f"{tag}: Potluck phase")
        potluck = [Stream(f"{tag} potluck {i}") for i in range(n)]
        go = asyncio.Event()
        dones = [asyncio.Event() for _ in range(n)]
        tasks = [
            asyncio.ensure_future(potluck_client(c, app_url, s, go, d))
            for c, s, d in zip(clients, potluck, dones, strict=True)
        ]
        cpu_before = cpu_seconds(daphne_pid)
        go.set()
        _done, pending = await asyncio.wait(tasks, timeout=PHASE_TIMEOUT)
        cpu = cpu_seconds(daphne_pid) - cpu_before
        _log(f"{tag}: Potluck phase done")
        for task in pending:
            task.cancel()
        for stream, task in zip(potluck, tasks, strict=True):
            if task in pending:
                stream.error = stream.error or "timed out"
        await _bounded(
            [stored_check(c, app_url, s) for c, s in zip(clients, potluck, strict=True)], 16
        )
        emits = await fetch_emits(plain, fake_url)
        return RoundResult(direct=direct, potluck=potluck, emits=emits, cpu=cpu)
    finally:
        for client in clients:
            if client.ws is not None:
                await client.ws.close()
            await client.session.close()
        await plain.close()


# --- statistics and the table ---------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Summary:
    n: int
    streams: int
    ttft_direct: tuple[float, float]
    ttft_potluck: tuple[float, float]
    delay_direct: tuple[float, float]
    delay_potluck: tuple[float, float]
    lost: int
    gaps: int
    failed: int
    direct_failed: int
    frames_per_stream: float
    cpu_per_1k: float

    @property
    def added_ttft(self) -> tuple[float, float]:
        return (
            self.ttft_potluck[0] - self.ttft_direct[0],
            self.ttft_potluck[1] - self.ttft_direct[1],
        )

    @property
    def added_delay(self) -> tuple[float, float]:
        return (
            self.delay_potluck[0] - self.delay_direct[0],
            self.delay_potluck[1] - self.delay_direct[1],
        )


def summarise(n: int, rounds: list[RoundResult]) -> Summary:
    def both(values: list[float]) -> tuple[float, float]:
        return percentile(values, 50) * 1000, percentile(values, 99) * 1000

    ttft: dict[str, list[float]] = {"direct": [], "potluck": []}
    delays: dict[str, list[float]] = {"direct": [], "potluck": []}
    lost = gaps = failed = direct_failed = 0
    frames = 0
    cpu = 0.0
    for result in rounds:
        cpu += result.cpu
        for kind, group in (("direct", result.direct), ("potluck", result.potluck)):
            for stream in group:
                if stream.ttft is not None:
                    ttft[kind].append(stream.ttft)
                emits = result.emits.get(stream.stream_id, [])
                delays[kind].extend(stream.token_delays(emits))
                if kind == "direct":
                    direct_failed += not stream.completed
                    continue
                frames += len(stream.frames)
                failed += not stream.completed
                lost += not stream.stored_ok
                gaps += stream.text != TEXT
    streams = sum(len(r.potluck) for r in rounds)
    chunks = streams * len(PIECES)
    return Summary(
        n=n,
        streams=streams,
        ttft_direct=both(ttft["direct"]),
        ttft_potluck=both(ttft["potluck"]),
        delay_direct=both(delays["direct"]),
        delay_potluck=both(delays["potluck"]),
        lost=lost,
        gaps=gaps,
        failed=failed,
        direct_failed=direct_failed,
        frames_per_stream=frames / streams if streams else math.nan,
        cpu_per_1k=cpu / chunks * 1000 if chunks else math.nan,
    )


def table(summaries: list[Summary]) -> str:
    def pair(values: tuple[float, float]) -> str:
        return f"{values[0]:7.1f} {values[1]:7.1f}"

    lines = [
        "All times in ms (p50 p99). TTFT = time to first token; delay = per-token delivery delay.",
        f"{'N':>4} {'streams':>7} | {'TTFT direct':>15} | {'TTFT Potluck':>15} | "
        f"{'added TTFT':>15} | {'delay direct':>15} | {'delay Potluck':>15} | "
        f"{'added delay':>15} | {'lost':>4} {'gaps':>4} {'fail':>4} | {'frames':>6} | "
        f"{'CPU s/1k':>8}",
    ]
    lines.extend(
        f"{s.n:>4} {s.streams:>7} | {pair(s.ttft_direct)} | {pair(s.ttft_potluck)} | "
        f"{pair(s.added_ttft)} | {pair(s.delay_direct)} | {pair(s.delay_potluck)} | "
        f"{pair(s.added_delay)} | {s.lost:>4} {s.gaps:>4} {s.failed:>4} | "
        f"{s.frames_per_stream:>6.1f} | {s.cpu_per_1k:>8.3f}"
        for s in summaries
    )
    lines.append(
        "lost: stored content differs from the upstream's; gaps: delivered deltas differ; "
        "fail: no message.completed; frames: message.delta frames per stream."
    )
    return "\n".join(lines)


def targets(summaries: list[Summary]) -> list[str]:
    notes: list[str] = []
    for s in summaries:
        if s.n == 1:
            ok = s.added_ttft[0] <= 15
            notes.append(f"N=1 added TTFT p50 {s.added_ttft[0]:.1f} ms <= 15: {_ok(ok)}")
        if s.n == 200:
            ok = s.added_delay[1] <= 150
            notes.append(f"N=200 added delay p99 {s.added_delay[1]:.1f} ms <= 150: {_ok(ok)}")
            notes.append(f"N=200 streams with lost content {s.lost} == 0: {_ok(s.lost == 0)}")
    return notes


def _ok(ok: bool) -> str:
    return "met" if ok else "MISSED"


# --- the run --------------------------------------------------------------------------------------


def _free_port() -> int:
    from tests.e2e.live import free_port

    return free_port()


async def measure(
    *,
    ns: list[int],
    samples: int,
    app_url: str,
    fake_url: str,
    emails: list[str],
    daphne_pid: int,
    progress: Callable[[str], None],
) -> list[Summary]:
    run = uuid.uuid4().hex[:6]
    # Warm-up: imports, the provider HTTP session, the database connection.
    await run_round(
        n=1, app_url=app_url, fake_url=fake_url, emails=emails, daphne_pid=daphne_pid, tag="warm"
    )
    summaries: list[Summary] = []
    for n in ns:
        rounds: list[RoundResult] = []
        for index in range(max(1, math.ceil(samples / n))):
            tag = f"{run} n{n} r{index}"
            rounds.append(
                await run_round(
                    n=n,
                    app_url=app_url,
                    fake_url=fake_url,
                    emails=emails,
                    daphne_pid=daphne_pid,
                    tag=tag,
                )
            )
        for result in rounds:
            for stream in result.direct + result.potluck:
                if stream.error:
                    progress(f"  {stream.stream_id}: {stream.error[:300]}")
        summary = summarise(n, rounds)
        progress(table([summary]).splitlines()[2])
        summaries.append(summary)
    return summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="1,50,200", help="client counts, comma-separated")
    parser.add_argument(
        "--samples",
        type=int,
        default=20,
        help="at least this many streams per N (small N runs several rounds)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs folder")
    parser.add_argument("--serve-fake", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return 0
    ns = [int(part) for part in args.n.split(",") if part.strip()]
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("warning: DATABASE_URL is not Postgres; the figures will not mean much", flush=True)
    if not os.environ.get("REDIS_URL"):
        print("warning: REDIS_URL is not set; using the in-memory channel layer", flush=True)
    sys.path.insert(0, str(ROOT))
    from tests.e2e.live import live_app

    tmp = Path(tempfile.mkdtemp(prefix="potluck-bench-"))
    fake_port = _free_port()
    settings_module = os.environ.get("BENCH_DJANGO_SETTINGS", "bench.settings")
    extra_env = {"DJANGO_SETTINGS_MODULE": settings_module, "LOGIN_RATE": "100000/min"}
    with (
        fake_process(fake_port, tmp / "fake.log") as fake_url,
        live_app(tmp, extra_env=extra_env, with_celery=False) as app,
    ):
        code = (
            "from bench.chat_streams import seed; "
            f"seed(users={max(ns)}, base_url={f'{fake_url}/k/{KEY}/ollama/v1'!r})"
        )
        emails = json.loads(app.manage("shell", "-c", code).strip().splitlines()[-1])
        daphne_pid = app.processes[0].pid
        print(f"Potluck at {app.url} (Daphne pid {daphne_pid}), fake at {fake_url}", flush=True)
        summaries = asyncio.run(
            measure(
                ns=ns,
                samples=args.samples,
                app_url=app.url,
                fake_url=fake_url,
                emails=emails,
                daphne_pid=daphne_pid,
                progress=lambda line: print(line, flush=True),
            )
        )
    print()
    print(table(summaries))
    for note in targets(summaries):
        print(note)
    if args.keep_logs:
        print(f"logs: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
