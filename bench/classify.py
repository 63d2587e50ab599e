"""Classification speed: in-process latency per trace, one 10,000-trace batch, and ``POST /api/v1/classify/`` under a real server.

    .venv/bin/python bench/classify.py --traces 2000 --batch 10000 --api-requests 1000 --server gunicorn --workers 4

Workload: sessions from the simulator (default class mix, a seed no model was trained on), each
used as raw snippet events and as its terse trace.

- in-process: one trace at a time, parsing included (``trace_from_input`` then the embedded
  backend's ``classify`` of that one trace: features, model, explanation); p50/p99 for terse and raw.
- batch: 10,000 raw sessions parsed into traces and classified by the embedded backend in one call
  (parsing + features + model + explanations). Median of 3 runs, parse and classify shown apart.
- API: the bench migrates DATABASE_URL (SQLite under bench/results when unset), creates a tenant and
  an API key through formrecap.services, makes sure an embedded model is active (trains a small one,
  3,000 sessions, when none is), starts gunicorn with N asgi workers (or ``runserver --noreload``)
  and sends ``{"events": ...}`` one request at a time per client thread, alternating terse and raw.
  ``--url`` targets a running server instead (same DATABASE_URL and FORMRECAP_MODEL_DIR). When the
  running code has no ``/api/v1/classify/`` route yet, the bench says so and prints the rest.

Targets: in-process p50 ≤ 1 ms, 10,000-trace batch ≤ 2 s, API p50 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from servers import free_port, percentile, start_server, wait_ready

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CLASSIFY_PATH = "/api/v1/classify/"

TARGET_IN_PROCESS_P50_MS = 1.0
TARGET_BATCH_S = 2.0
TARGET_API_P50_MS = 20.0
TARGET_CUSTOM_REASON_MS = 0.2
CUSTOM_REASONS = 20
EXAMPLES_PER_CUSTOM_REASON = 5


@dataclass
class Row:
    """One printed figure and, where there is one, its target."""

    name: str
    figure: str
    target: str = ""
    passed: bool | None = None  # None: no target, or not measured

    def line(self) -> str:
        verdict = {True: "PASS", False: "MISS", None: ""}[self.passed]
        return f"  {self.name:38} {self.figure:34} {self.target:14} {verdict}".rstrip()


# ---------------------------------------------------------------- setup


def configure_environment() -> list[str]:
    """Default DATABASE_URL and model folder under bench/results; returns notes to print."""
    notes = []
    if not os.environ.get("DATABASE_URL"):
        RESULTS.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{RESULTS / 'classify.sqlite3'}"
        notes.append(f"DATABASE_URL is unset: using SQLite at {RESULTS / 'classify.sqlite3'}")
    if not os.environ.get("FORMRECAP_MODEL_DIR"):
        os.environ["FORMRECAP_MODEL_DIR"] = str(RESULTS / "models")
    os.environ["DJANGO_SETTINGS_MODULE"] = "formrecap.settings"
    return notes


def ensure_active_model():
    """The active embedded model version, trained and registered first if there is none."""
    from training.embedded import EmbeddedConfig
    from training.models import ModelVersion
    from training.selectors import model_version_active
    from training.services import embedded_model_train_and_register

    active = model_version_active(kind=ModelVersion.Kind.EMBEDDED)
    if active is not None:
        return active, "already active"
    started = time.perf_counter()
    model_version = embedded_model_train_and_register(config=EmbeddedConfig(count=3000), activate=True)
    return model_version, f"trained now on 3,000 sessions in {time.perf_counter() - started:.1f} s"


def workload(count: int, seed: int) -> tuple[list[list[dict]], list[str]]:
    """``count`` simulated sessions as (raw events, terse traces)."""
    from classifier.trace import normalise_events, serialise_trace
    from training.simulator import simulate_sessions

    raw = [session.events for session in simulate_sessions(count, seed=seed)]
    return raw, [serialise_trace(normalise_events(events)) for events in raw]


# ---------------------------------------------------------------- in-process


def single_trace_latencies_ms(backend, inputs: list) -> list[float]:
    from classifier.trace import trace_from_input

    timings = []
    for value in inputs:
        started = time.perf_counter()
        backend.classify([trace_from_input(value)])
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def batch_seconds(backend, raw: list[list[dict]], runs: int = 3) -> tuple[float, list[float], list[float]]:
    """(median total seconds, parse seconds per run, classify seconds per run) for one batch of raw traces."""
    from classifier.trace import trace_from_input

    parse_runs, classify_runs = [], []
    for _ in range(runs):
        started = time.perf_counter()
        traces = [trace_from_input(events) for events in raw]
        parsed = time.perf_counter()
        results = backend.classify(traces)
        parse_runs.append(parsed - started)
        classify_runs.append(time.perf_counter() - parsed)
        assert len(results) == len(traces)
    totals = [p + c for p, c in zip(parse_runs, classify_runs, strict=True)]
    return statistics.median(totals), parse_runs, classify_runs


def in_process_rows(raw: list[list[dict]], terse: list[str], *, traces: int, batch: int) -> list[Row]:
    from classifier.backends import get_backend

    backend = get_backend("embedded")
    # Warm caches (token parser, loaded weights) the way a long-running process has them warm.
    single_trace_latencies_ms(backend, terse[:200] + raw[:200])
    rows = []
    for form, inputs in (("terse", terse[:traces]), ("raw", raw[:traces])):
        ms = single_trace_latencies_ms(backend, inputs)
        p50, p99 = percentile(ms, 50), percentile(ms, 99)
        rows.append(
            Row(
                f"in-process, 1 {form} trace (n={len(ms)})",
                f"p50 {p50:.3f} ms  p99 {p99:.3f} ms",
                f"p50 ≤ {TARGET_IN_PROCESS_P50_MS:g} ms",
                p50 <= TARGET_IN_PROCESS_P50_MS,
            )
        )
    median, parse_runs, classify_runs = batch_seconds(backend, raw[:batch])
    rows.append(
        Row(
            f"batch of {len(raw[:batch]):,} raw traces, parse + classify",
            f"{median:.3f} s ({len(raw[:batch]) / median:,.0f}/s)",
            f"≤ {TARGET_BATCH_S:g} s",
            median <= TARGET_BATCH_S,
        )
    )
    rows.append(Row("  (parse, per run)", ", ".join(f"{r:.3f} s" for r in parse_runs)))
    rows.append(Row("  (classify, per run)", ", ".join(f"{r:.3f} s" for r in classify_runs)))
    return rows


# ---------------------------------------------------------------- custom reasons


def custom_reason_rows(seed: int, traces: int) -> list[Row]:
    """What custom reasons add to a reading: CUSTOM_REASONS reasons (grouped under the six classes, as variants of the
    simulator's form types), each fitted from EXAMPLES_PER_CUSTOM_REASON sessions, scored for ``traces`` sessions
    the way a session reading does (trace features, field names, nearest prototype). In memory: the tenant's
    one-row change check (custom_reasons/services.py) is a database round trip on top."""
    import numpy as np

    from classifier.backends import get_backend
    from classifier.custom_reasons.prototypes import ReasonExamples, fit
    from classifier.custom_reasons.vectors import field_names, names_vector
    from classifier.features import features_matrix
    from classifier.trace import normalise_events, trace_from_input
    from training.simulator import simulate_sessions

    sessions = list(simulate_sessions(4000 + traces, seed=seed + 1))
    scored = sessions[-traces:]
    by_key: dict[tuple, list] = {}  # (class, form type): a tenant's reasons split classes by where visitors stop
    for session in sessions[:4000]:
        by_key.setdefault((session.label, session.form_type), []).append(session)
    keys = [key for key, group in sorted(by_key.items()) if len(group) >= EXAMPLES_PER_CUSTOM_REASON][:CUSTOM_REASONS]
    reason_of = {key: rid for rid, key in enumerate(keys, 1)}
    kept = [s for key in keys for s in by_key[key][:EXAMPLES_PER_CUSTOM_REASON]]
    example_traces = [normalise_events(s.events) for s in kept]
    model = get_backend("embedded").model
    started = time.perf_counter()
    fitted = fit(
        ReasonExamples(
            reason_ids=np.array([reason_of[(s.label, s.form_type)] for s in kept]),
            parents={rid: code for (code, _), rid in reason_of.items()},
            features=features_matrix(example_traces),
            names=[names_vector(field_names(t)) for t in example_traces],
        ),
        mean=model.mean,
        scale=model.scale,
    )
    fit_ms = (time.perf_counter() - started) * 1000
    inputs = [trace_from_input(s.events) for s in scored]
    timings = []
    for trace, session in zip(inputs, scored, strict=True):
        began = time.perf_counter()
        fitted.score(features_matrix([trace])[0], names_vector(field_names(trace)), session.label)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    return [
        Row(f"custom reasons: fit {len(fitted.ids)} reasons, {len(kept)} examples", f"{fit_ms:.1f} ms (leave-one-out incl.)"),
        Row(
            f"custom reason added per raw trace (n={len(timings)})",
            f"p50 {p50:.3f} ms  p99 {p99:.3f} ms",
            f"p50 ≤ {TARGET_CUSTOM_REASON_MS:g} ms",
            p50 <= TARGET_CUSTOM_REASON_MS,
        ),
    ]


# ---------------------------------------------------------------- API


def post_classify(host: str, port: int, secret: str, body: bytes) -> tuple[int, bytes, float]:
    """One request on a fresh connection; (status, body, ms)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
        conn.request("POST", CLASSIFY_PATH, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        status = response.status
    except OSError as exc:
        return 0, f"{type(exc).__name__}: {exc}".encode(), (time.perf_counter() - started) * 1000
    finally:
        conn.close()
    return status, payload, (time.perf_counter() - started) * 1000


def send_requests(host: str, port: int, secret: str, bodies: list[bytes], concurrency: int) -> list[tuple[int, bytes, float]]:
    results: list[tuple[int, bytes, float]] = []
    lock = threading.Lock()
    position = iter(range(len(bodies)))

    def worker() -> None:
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            outcome = post_classify(host, port, secret, bodies[index])
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def api_rows(args, raw: list[list[dict]], terse: list[str]) -> tuple[list[Row], list[str]]:
    from django.db import connection

    from formrecap.services import api_key_create, tenant_create

    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tenant = tenant_create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    secret = api_key_create(tenant=tenant, name="classify bench").secret
    connection.close()  # idle during the load; the server has its own connections

    n = args.api_requests
    bodies = [
        json.dumps(
            {"events": terse[i // 2 % len(terse)] if i % 2 == 0 else raw[i // 2 % len(raw)]}, separators=(",", ":")
        ).encode()
        for i in range(n)
    ]
    server = log_path = None
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        server_line = f"external server at {args.url}"
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        host, port = "127.0.0.1", free_port()
        log_path = RESULTS / f"classify-{args.server}.log"
        server = start_server(args.server, args.workers, port, log_path)
        server_line = f"gunicorn, {args.workers} asgi workers" if args.server == "gunicorn" else "runserver --noreload (threaded)"
    try:
        wait_ready(f"http://{host}:{port}", server, log_path)
        # Every worker loads its URLconf and the model before the clock starts.
        send_requests(host, port, secret, bodies[: 8 * args.workers], concurrency=2 * args.workers)
        started = time.perf_counter()
        outcomes = send_requests(host, port, secret, bodies, concurrency=args.concurrency)
        wall = time.perf_counter() - started
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()

    notes = [f"API server: {server_line}; client: {args.concurrency} thread(s), a fresh connection per request"]
    statuses: dict[int, int] = {}
    for status, _, _ in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    notes.append(
        "API status codes: " + ", ".join(f"{code or 'transport error'}: {count}" for code, count in sorted(statuses.items()))
    )
    failures = [(status, body) for status, body, _ in outcomes if status != 200]
    if failures:
        status, body = failures[0]
        notes.append(f"API first non-200 answer: {status} {body[:300].decode(errors='replace')}")
    ok = sorted(ms for status, _, ms in outcomes if status == 200)
    if not ok:
        if statuses.get(404) == len(outcomes):
            notes.append(f"API: {CLASSIFY_PATH} answered 404 for every request: the running server has no such endpoint")
        return [Row("API POST /api/v1/classify/", "no 200 answers", f"p50 ≤ {TARGET_API_P50_MS:g} ms")], notes
    p50, p99 = percentile(ok, 50), percentile(ok, 99)
    rows = [
        Row(
            f"API POST /api/v1/classify/ (n={len(ok)})",
            f"p50 {p50:.2f} ms  p99 {p99:.2f} ms",
            f"p50 ≤ {TARGET_API_P50_MS:g} ms",
            p50 <= TARGET_API_P50_MS,
        ),
        Row("  (throughput)", f"{len(outcomes) / wall:,.0f} requests/s"),
    ]
    return rows, notes


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=2000, help="traces for the per-trace latency (each terse and raw)")
    parser.add_argument("--batch", type=int, default=10_000, help="traces in the one-call batch")
    parser.add_argument("--api-requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1, help="API client threads")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn asgi workers")
    parser.add_argument("--url", help="a running server (same DATABASE_URL and FORMRECAP_MODEL_DIR) instead of starting one")
    parser.add_argument("--seed", type=int, default=2024, help="simulator seed of the workload")
    args = parser.parse_args()
    if min(args.traces, args.batch, args.api_requests, args.concurrency, args.workers) < 1:
        parser.error("--traces, --batch, --api-requests, --concurrency and --workers must be at least 1")

    sys.path.insert(0, str(REPO))
    notes = configure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    model_version, how = ensure_active_model()
    notes.append(f"model: {model_version.label} ({how})")

    raw, terse = workload(max(args.traces, args.batch), args.seed)
    notes.append(
        f"workload: {len(raw):,} simulated sessions (seed {args.seed}), "
        f"median {statistics.median(len(e) for e in raw):.0f} raw events / "
        f"{statistics.median(t.count(',') + 1 for t in terse):.0f} terse tokens per session; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    rows = in_process_rows(raw, terse, traces=args.traces, batch=args.batch)
    rows += custom_reason_rows(args.seed, min(args.traces, 2000))
    more_rows, api_notes = api_rows(args, raw, terse)

    for note in notes + api_notes:
        print(note)
    print(f"\n  {'measure':38} {'figure':34} {'target':14} verdict")
    for row in rows + more_rows:
        print(row.line())
    missed = [row.name for row in rows + more_rows if row.passed is False]
    print("\nall measured targets met" if not missed else f"\n{len(missed)} target(s) missed")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
