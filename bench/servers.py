"""What the benchmarks share: a server of their own on a free port, waiting for it, percentiles.

Imported as a sibling module (the benchmarks run as scripts: `python bench/ingest.py`).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The production server's application and worker class (docker/Dockerfile's CMD, README "Production").
GUNICORN_ARGS = ["formrecap.asgi:application", "--worker-class", "asgi"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, workers: int, port: int, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The production server (gunicorn, ``workers`` asgi workers), or ``runserver --noreload``, on 127.0.0.1:``port``."""
    if kind == "gunicorn":
        # As docker/Dockerfile and the README run it: request bodies are read on the event loop, so slow
        # clients do not hold a worker (formrecap/asgi.py).
        cmd = [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    else:
        cmd = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    environment = os.environ | {"DJANGO_SETTINGS_MODULE": "formrecap.settings"} | (env or {})
    # Both run each request's view on a thread of its own and never reuse that thread's connection; persistent
    # connections would pile up until PostgreSQL refuses more ("too many clients"), so both run with 0.
    environment.setdefault("CONN_MAX_AGE", default_conn_max_age(kind))
    if kind == "gunicorn":
        environment.setdefault("DB_POOL", "1")  # as deployed: each worker borrows from a pool of connections
    return subprocess.Popen(cmd, cwd=REPO, env=environment, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def default_conn_max_age(kind: str) -> str:
    return "0"


def wait_ready(base_url: str, server: subprocess.Popen | None, log_path: Path | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            sys.exit(f"server exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base_url}/snippet/v1/formrecap.js", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    sys.exit(f"server not ready after {timeout:.0f} s; see {log_path}")


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]
