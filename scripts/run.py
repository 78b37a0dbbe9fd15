"""Start the web server, a Celery worker and Celery beat together; Ctrl-C stops all three.

`make run` calls this after installing, building the SPA and migrating.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "server.settings.local")
    commands = {
        "web": [str(BIN / "daphne"), "-b", host, "-p", port, "server.asgi:application"],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "server",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
        ],
        "beat": [str(BIN / "celery"), "-A", "server", "beat", "--loglevel=INFO"],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    print(f"Potluck is starting on http://{host}:{port}  (Ctrl-C stops web, worker and beat)")

    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the others.")
                exit_code = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.3)

    # SIGTERM lets Daphne and Celery finish or settle in-flight work before they exit.
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
