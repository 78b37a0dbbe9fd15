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
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory(env: dict[str, str]) -> Path:
    """The folder the web processes share for prometheus_client's multiprocess mode, emptied.

    Files left by a previous run would be added to this run's counts (core/metrics.py)."""
    var_dir = Path(env.get("POTLUCK_VAR_DIR", ROOT / "var"))
    directory = Path(env.get(MULTIPROC_DIR_VARIABLE) or var_dir / "prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def forget_web_process(pid: int, directory: Path) -> None:
    """A web process has exited: its live gauges (running generations) go from the scrape, even
    if it died without running its own exit handlers."""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, str(directory))


def main() -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "server.settings.local")
    metrics_dir = metrics_directory(env)
    # Only the web processes write metrics there; Celery's would never be scraped.
    env.pop(MULTIPROC_DIR_VARIABLE, None)
    envs = {"web": {**env, MULTIPROC_DIR_VARIABLE: str(metrics_dir)}}
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
    procs = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=envs.get(name, env))
        for name, cmd in commands.items()
    }
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
            proc.wait()
    forget_web_process(procs["web"].pid, metrics_dir)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
