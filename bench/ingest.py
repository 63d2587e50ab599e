"""Throughput, latency and exactly-once storage of ``POST /api/v1/ingest/`` under a real server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formrecap_bench \\
        .venv/bin/python bench/ingest.py --sessions 200 --batches 10 --events 20 --concurrency 16 --server gunicorn --workers 4

(`make bench-ingest BENCH_ARGS="..."` runs the same on PostgreSQL.) The bench creates the database if it
is missing, migrates it, creates a fresh tenant and site through the project's services, starts its own
server (gunicorn with N asgi workers, or ``manage.py runserver --noreload``) on a free port with the ingest
throttle off, and sends every session's batches in order from ``--concurrency`` threads. A share of batches
is re-sent after its answer (must be 200 "duplicate") and a share is sent twice at once (one 202, one 200).
It then reads the database through the ORM and checks that every batch was stored exactly once, with the
events sent, and that each session ended left (exit) or submitted (submit); exit status 1 on FAIL.
On PostgreSQL it then runs the raw-psycopg baseline: the same logical writes (session upsert with its row
locked, chunk insert deduplicated on (session, seq), counters) from the same number of threads with no HTTP
and no Django, and prints both rates and their ratio. With DATABASE_URL unset it runs on SQLite
(bench/results/ingest.sqlite3). ``--url`` targets a running server instead, which must use the same
DATABASE_URL and no ingest throttle.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from servers import default_conn_max_age, free_port, percentile, start_server, wait_ready

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
ORIGIN = "https://bench.formrecap.test"
INGEST_PATH = "/api/v1/ingest/"

FIELDS = ["email", "password", "first_name", "last_name", "phone", "address_line", "postcode", "card_number", "plan"]
REASONS = ["required", "invalid_format", "too_short", "mismatch", "taken", "invalid_luhn"]


# ---------------------------------------------------------------- workload


@dataclass
class Session:
    index: int
    uuid: str
    ending: str  # "exit" or "submit"
    batches: list[list[dict]]  # raw events per seq
    retry_seqs: set[int]  # re-sent after their answer
    race_seqs: set[int]  # sent twice at once


def _visitor_events(rng: random.Random, count: int, start_ts: int) -> tuple[list[dict], int]:
    """``count`` raw events of a visitor filling fields: focus, keystroke runs, blur (sometimes failing), scrolls."""
    events: list[dict] = []
    ts = start_ts
    while len(events) < count:
        ts += rng.randint(300, 2500)
        if rng.random() < 0.15:
            # A scroll, or an idle gap written as one (now and then a long one: the tab was left).
            duration = rng.randint(30_000, 180_000) if rng.random() < 0.1 else rng.randint(200, 4000)
            events.append({"type": "scroll", "ts": ts, "duration_ms": duration})
            ts += duration
            continue
        name = rng.choice(FIELDS)
        events.append({"type": "focus", "field": name, "ts": ts})
        for _ in range(rng.randint(0, 12)):
            ts += rng.randint(60, 260)
            events.append({"type": "input", "field": name, "ts": ts})
        ts += rng.randint(100, 900)
        blur = {"type": "blur", "field": name, "ts": ts}
        if rng.random() < 0.12:
            blur["validation"] = rng.choice(REASONS)
        events.append(blur)
    return events[:count], ts


def build_session(index: int, *, batches: int, events: int, retry_share: float, race_share: float, seed: int) -> Session:
    rng = random.Random(seed * 1_000_003 + index)
    ending = "exit" if index % 2 == 0 else "submit"
    raw, _ = _visitor_events(rng, batches * events - 1, 0)
    raw.append({"type": ending, "ts": raw[-1]["ts"] + rng.randint(200, 3000)})
    chunks = [raw[i * events : (i + 1) * events] for i in range(batches)]
    race = {seq for seq in range(batches) if rng.random() < race_share}
    retry = {seq for seq in range(batches) if seq not in race and rng.random() < retry_share}
    return Session(index, str(uuid.UUID(int=rng.getrandbits(128), version=4)), ending, chunks, retry, race)


def batch_body(site_key: str, session: Session, seq: int) -> bytes:
    events = session.batches[seq]
    return json.dumps(
        {
            "site_key": site_key,
            "session_id": session.uuid,
            "seq": seq,
            "form": {"id": "signup", "path": "/signup"},
            "events": events,
            "sent_at": events[-1]["ts"] + 50,
        },
        separators=(",", ":"),
    ).encode()


# ---------------------------------------------------------------- sending


@dataclass
class Outcome:
    kind: str  # "original", "retry" or "race"
    status: int  # HTTP status, 0 for a transport error
    answer: str  # the "status" of the JSON answer, its "detail", or the error
    seconds: float
    events: int


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    backend_cpu: list[float] = field(default_factory=list)  # the raw baseline's PostgreSQL backends, as each ends

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def post(host: str, port: int, body: bytes) -> tuple[int, str, float]:
    """One batch as the snippet sends it (text/plain: no CORS preflight), on a fresh connection like a beacon."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("POST", INGEST_PATH, body=body, headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN})
        response = conn.getresponse()
        payload = response.read()
        code = response.status
    except OSError as exc:
        return 0, f"{type(exc).__name__}: {exc}", time.perf_counter() - started
    finally:
        conn.close()
    try:
        data = json.loads(payload)
        answer = data.get("status") or data.get("detail", "")
    except (ValueError, AttributeError):
        answer = " ".join(payload.decode(errors="replace").split())[:160]
    return code, str(answer), time.perf_counter() - started


def send_session(host: str, port: int, site_key: str, session: Session, results: Results) -> None:
    for seq in range(len(session.batches)):
        body = batch_body(site_key, session, seq)
        n = len(session.batches[seq])
        if seq in session.race_seqs:
            twin: list[tuple[int, str, float]] = []
            other = threading.Thread(target=lambda out, data: out.append(post(host, port, data)), args=(twin, body))
            other.start()
            mine = post(host, port, body)
            other.join()
            for code, answer, seconds in (mine, *twin):
                results.add(Outcome("race", code, answer, seconds, n))
            continue
        code, answer, seconds = post(host, port, body)
        results.add(Outcome("original", code, answer, seconds, n))
        if seq in session.retry_seqs:
            code, answer, seconds = post(host, port, body)
            results.add(Outcome("retry", code, answer, seconds, n))


def run_load(host: str, port: int, site_key: str, sessions: list[Session], concurrency: int) -> tuple[Results, float]:
    todo: queue.Queue[Session] = queue.Queue()
    for session in sessions:
        todo.put(session)
    results = Results()

    def worker() -> None:
        while True:
            try:
                session = todo.get_nowait()
            except queue.Empty:
                return
            send_session(host, port, site_key, session, results)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


# ---------------------------------------------------------------- the raw-psycopg baseline


RAW_SESSION_UPSERT = """
INSERT INTO formrecap_formsession (tenant_id, site_id, session_uuid, form_id, path, status, visitor_ref, anonymous_id,
    started_at, last_event_at, batch_count, event_count, classification_error, created_at)
VALUES (%(tenant)s, %(site)s, %(uuid)s, 'signup', '/signup', 'in_progress', '', '', now(), now(), 0, 0, '', now())
ON CONFLICT (site_id, session_uuid) DO UPDATE SET last_event_at = now()
RETURNING id
"""
RAW_CHUNK_INSERT = """
INSERT INTO formrecap_tracechunk (session_id, seq, events, event_count, fingerprint, received_at)
VALUES (%(session)s, %(seq)s, %(events)s, %(count)s, %(fingerprint)s, now())
ON CONFLICT (session_id, seq) DO NOTHING
RETURNING id
"""
RAW_COUNTERS = """
UPDATE formrecap_formsession SET batch_count = batch_count + 1, event_count = event_count + %(count)s,
    status = %(status)s
WHERE id = %(session)s
"""


def raw_baseline(sessions: list[Session], *, tenant_id: int, site_id: int, concurrency: int) -> tuple[Results, float]:
    """The same logical writes straight from psycopg, no HTTP and no Django: per batch, in one transaction, the
    session upserted (its row locked), the chunk inserted unless (session, seq) is stored, the counters and status
    updated; retries sent again like the HTTP run. The ceiling the ingest endpoint is measured against."""
    import hashlib

    import psycopg
    from django.db import connection
    from psycopg.types.json import Jsonb

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    todo: queue.Queue[Session] = queue.Queue()
    for session in sessions:
        todo.put(session)
    results = Results()

    def send(conn, session: Session, seq: int, kind: str) -> None:
        events = session.batches[seq]
        started = time.perf_counter()
        body = json.dumps(events, separators=(",", ":"))  # the HTTP run's server parses and hashes the same
        fingerprint = hashlib.blake2b(body.encode(), digest_size=16).hexdigest()
        ending = events[-1]["type"]
        status = {"exit": "exited", "submit": "submitted"}.get(ending, "in_progress")
        with conn.transaction():
            session_id = conn.execute(
                RAW_SESSION_UPSERT, {"tenant": tenant_id, "site": site_id, "uuid": session.uuid}
            ).fetchone()[0]
            row = {"session": session_id, "seq": seq, "events": Jsonb(json.loads(body)), "count": len(events)}
            stored = conn.execute(RAW_CHUNK_INSERT, row | {"fingerprint": fingerprint}).fetchone()
            if stored:
                conn.execute(RAW_COUNTERS, {"session": session_id, "count": len(events), "status": status})
        answer = "accepted" if stored else "duplicate"
        results.add(Outcome(kind, 202 if stored else 200, answer, time.perf_counter() - started, len(events)))

    def worker() -> None:
        with psycopg.connect(**params) as conn:
            while True:
                try:
                    session = todo.get_nowait()
                except queue.Empty:
                    # Read before the backend ends: a snapshot after the run would miss it.
                    results.backend_cpu.append(_cpu_of(conn.info.backend_pid))
                    return
                for seq in range(len(session.batches)):
                    send(conn, session, seq, "original")
                    if seq in session.retry_seqs or seq in session.race_seqs:
                        send(conn, session, seq, "retry")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


# ---------------------------------------------------------------- CPU accounting


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return children + [d for child in children for d in _descendants(child)]


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_snapshot(server_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by this client, the server and its workers, and PostgreSQL's processes. Backends
    that end between two snapshots are missed, so PostgreSQL's figure is a lower bound with CONN_MAX_AGE=0."""
    snapshot = {"client": time.process_time(), "postgres": sum(_cpu_of(p) for p in _postgres_pids())}
    if server_pid is not None:
        snapshot["server"] = sum(_cpu_of(p) for p in [server_pid, *_descendants(server_pid)])
    return snapshot


# ---------------------------------------------------------------- database and server


def configure_database() -> str:
    """DATABASE_URL for the bench and its server; creates a missing PostgreSQL database. Returns a note to print."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        RESULTS.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{RESULTS / 'ingest.sqlite3'}"
        return f"DATABASE_URL is unset: using SQLite at {RESULTS / 'ingest.sqlite3'}"
    import environ

    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        return ""
    import psycopg
    from psycopg import sql

    params = {"host": config.get("HOST") or None, "port": config.get("PORT") or None}
    params |= {"user": config.get("USER") or None, "password": config.get("PASSWORD") or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
            return ""
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    return f"created database {config['NAME']}"


def warm_up(host: str, port: int, site_key: str, count: int) -> None:
    """Before the clock starts, every worker imports what the ingest path uses (its views, the broker's client) and
    opens its database connection: ``count`` one-batch sessions that leave, on a site of their own."""

    def leave(index: int) -> None:
        events = [{"type": "focus", "field": "email", "ts": 10}, {"type": "exit", "ts": 900}]
        body = {"site_key": site_key, "session_id": str(uuid.uuid4()), "seq": 0, "form": {"id": "warm", "path": "/"}}
        post(host, port, json.dumps(body | {"events": events, "sent_at": 950}).encode())

    threads = [threading.Thread(target=leave, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------- report and checks


def check_responses(results: Results) -> list[str]:
    problems = []
    by_kind = Counter((o.kind, o.status, o.answer) for o in results.outcomes)
    for (kind, code, answer), n in sorted(by_kind.items()):
        expected = {
            "original": {(202, "accepted")},
            "retry": {(200, "duplicate")},
            "race": {(202, "accepted"), (200, "duplicate")},
        }
        if (code, answer) not in expected[kind]:
            problems.append(f"{n} {kind} request(s) answered {code} {answer!r}")
    races = Counter(o.answer for o in results.outcomes if o.kind == "race")
    if races["accepted"] != races["duplicate"]:
        problems.append(f"concurrent twins: {races['accepted']} accepted vs {races['duplicate']} duplicate (expected equal)")
    return problems


def check_database(site, sessions: list[Session]) -> tuple[list[str], dict]:
    from django.db.models import Count, Sum

    from formrecap.models import FormSession, TraceChunk

    sent = {s.uuid: s for s in sessions}
    stored_sessions = {str(s.session_uuid): s for s in FormSession.all_tenants.filter(site=site)}
    chunks = TraceChunk.all_tenants.filter(session__site=site)
    totals = chunks.aggregate(chunks=Count("id"), events=Sum("event_count"))
    figures = {
        "sessions": (len(stored_sessions), len(sessions)),
        "chunks": (totals["chunks"] or 0, sum(len(s.batches) for s in sessions)),
        "events": (totals["events"] or 0, sum(len(b) for s in sessions for b in s.batches)),
        "left": (
            sum(1 for s in stored_sessions.values() if s.status in (FormSession.Status.ABANDONED, FormSession.Status.EXITED)),
            sum(1 for s in sessions if s.ending == "exit"),
        ),
        "submitted": (
            sum(1 for s in stored_sessions.values() if s.status == FormSession.Status.SUBMITTED),
            sum(1 for s in sessions if s.ending == "submit"),
        ),
    }
    problems = [f"stored {name} {got} != expected {want}" for name, (got, want) in figures.items() if got != want]

    # An exit starts the site's outreach delay (exited); with no delay it abandons at once.
    left = FormSession.Status.ABANDONED if site.outreach_delay_seconds == 0 else FormSession.Status.EXITED
    expected_status = {"exit": left, "submit": FormSession.Status.SUBMITTED}
    stored_chunks: dict[str, dict[int, tuple[int, list]]] = {}
    for session_uuid, seq, event_count, events in chunks.values_list(
        "session__session_uuid", "seq", "event_count", "events"
    ).iterator():
        stored_chunks.setdefault(str(session_uuid), {})[seq] = (event_count, events)
    for key, session in sent.items():
        row = stored_sessions.get(key)
        if row is None:
            problems.append(f"session {key}: not stored")
            continue
        mine = stored_chunks.get(key, {})
        sent_events = sum(len(b) for b in session.batches)
        chunk_events = sum(count for count, _ in mine.values())
        if sorted(mine) != list(range(len(session.batches))):
            problems.append(f"session {key}: stored seqs {sorted(mine)}, sent 0..{len(session.batches) - 1}")
        if not (row.batch_count == len(mine) == len(session.batches)):
            problems.append(f"session {key}: batch_count {row.batch_count}, chunks {len(mine)}, sent {len(session.batches)}")
        if not (row.event_count == chunk_events == sent_events):
            problems.append(
                f"session {key}: event_count {row.event_count}, sum of chunk event_count {chunk_events}, sent {sent_events}"
            )
        for seq, (count, events) in mine.items():
            if seq < len(session.batches) and (events != session.batches[seq] or count != len(events)):
                problems.append(f"session {key} seq {seq}: stored events differ from those sent")
        if row.status != expected_status[session.ending]:
            problems.append(
                f"session {key}: status {row.status}, expected {expected_status[session.ending]} (last event {session.ending})"
            )
    return problems, figures


def database_description() -> str:
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"postgresql {version // 10000}.{version % 10000} ({connection.settings_dict['NAME']})"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"sqlite {sqlite3.sqlite_version} ({connection.settings_dict['NAME']})"
    return connection.vendor


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10, help="batches per session")
    parser.add_argument("--events", type=int, default=20, help="events per batch")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads, each sending one session at a time")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn asgi workers")
    parser.add_argument("--url", help="a running server (same DATABASE_URL, throttle off) instead of starting one")
    parser.add_argument("--retry-share", type=float, default=0.10, help="share of batches re-sent after their answer")
    parser.add_argument("--race-share", type=float, default=0.02, help="share of batches sent twice at the same time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--broker",
        default="redis://127.0.0.1:6379/13",
        help="Redis database for the server's broker and cache, emptied after the run ('' runs tasks inline)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw-psycopg baseline (PostgreSQL only)")
    args = parser.parse_args()
    if args.sessions < 1 or args.batches < 1 or args.events < 1 or args.concurrency < 1:
        parser.error("--sessions, --batches, --events and --concurrency must be at least 1")

    sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "formrecap.settings"
    note = configure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from formrecap.services import site_create, tenant_create

    if note:
        print(note)
    if (
        args.batches > settings.FORMRECAP_SESSION_MAX_BATCHES
        or args.batches * args.events > settings.FORMRECAP_SESSION_MAX_EVENTS
    ):
        parser.error("sessions would exceed FORMRECAP_SESSION_MAX_BATCHES / FORMRECAP_SESSION_MAX_EVENTS")
    call_command("migrate", interactive=False, verbosity=0)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tenant = tenant_create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    site = site_create(tenant=tenant, name="ingest bench", allowed_origins=[ORIGIN])
    database = database_description()
    connection.close()  # idle during the load; the server has its own connections

    server = None
    log_path = None
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        server_line = f"external server at {args.url}"
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        host, port = "127.0.0.1", free_port()
        log_path = RESULTS / f"ingest-{args.server}.log"
        env = {"FORMRECAP_INGEST_RATE": ""}
        if args.broker:  # as deployed: tasks go to the broker (and are dropped after), not run inside the request
            env |= {"CELERY_BROKER_URL": args.broker, "REDIS_URL": args.broker, "CELERY_TASK_ALWAYS_EAGER": "0"}
        server = start_server(args.server, args.workers, port, log_path, env=env)
        conn_max_age = os.environ.get("CONN_MAX_AGE", default_conn_max_age(args.server))
        kind = f"gunicorn, {args.workers} asgi workers" if args.server == "gunicorn" else "runserver --noreload (threaded)"
        tasks = f"tasks queued to {args.broker}" if args.broker else "tasks run inline (eager)"
        server_line = f"{kind}, CONN_MAX_AGE={conn_max_age}, {tasks}"
    base_url = f"http://{host}:{port}"
    try:
        wait_ready(base_url, server, log_path)
        warm_site = site_create(tenant=tenant, name="warm-up", allowed_origins=[ORIGIN])
        connection.close()
        warm_up(host, port, warm_site.site_key, 4 * args.workers)
        sessions = [
            build_session(
                i,
                batches=args.batches,
                events=args.events,
                retry_share=args.retry_share,
                race_share=args.race_share,
                seed=args.seed,
            )
            for i in range(args.sessions)
        ]
        cpu_before = cpu_snapshot(server.pid if server is not None else None)
        results, wall = run_load(host, port, site.site_key, sessions, args.concurrency)
        cpu_after = cpu_snapshot(server.pid if server is not None else None)
    finally:
        if args.broker and not args.url:
            import redis

            redis.Redis.from_url(args.broker).flushdb()  # the bench's own database: the queued tasks go
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()

    outcomes = results.outcomes
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    accepted = [o for o in outcomes if o.status == 202]
    unique_batches = sum(len(s.batches) for s in sessions)
    unique_events = sum(len(b) for s in sessions for b in s.batches)
    kinds = Counter(o.kind for o in outcomes)
    codes = Counter(o.status for o in outcomes)
    accepted_events = sum(o.events for o in accepted)

    print(f"server:      {server_line}")
    print(f"database:    {database}")
    print(f"client:      {args.concurrency} threads, {os.cpu_count()} CPUs on this machine")
    print(
        f"sent:        {args.sessions} sessions x {args.batches} batches x {args.events} events = "
        f"{unique_batches} batches / {unique_events} events unique; "
        f"{len(outcomes)} requests ({kinds['retry']} retries after the answer, {kinds['race']} as concurrent twins)"
    )
    print(f"wall time:   {wall:.2f} s")
    print(
        f"accepted:    {accepted_events / wall:,.0f} events/s, {len(accepted) / wall:,.1f} batches/s "
        f"({len(accepted)} batches, {accepted_events} events); all requests {len(outcomes) / wall:,.1f}/s"
    )
    p50, p95, p99 = (percentile(latencies, pct) for pct in (50, 95, 99))
    print(f"latency ms:  p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {latencies[-1]:.1f}")
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    print(
        "cpu seconds: "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items())
        + f" (of {wall * (os.cpu_count() or 1):.2f} available); server {cpu.get('server', 0) * 1000 / max(1, len(outcomes)):.2f} ms per request"
    )
    print("status codes: " + ", ".join(f"{code or 'transport error'}: {n}" for code, n in sorted(codes.items())))
    for (code, answer), n in Counter((o.status, o.answer) for o in outcomes if o.status not in (200, 202)).most_common(5):
        print(f"  {n} x {code}: {answer[:200]}")

    connection.connect()
    db_problems, figures = check_database(site, sessions)
    problems = check_responses(results) + db_problems
    print("COUNT CHECK (stored / expected): " + ", ".join(f"{name} {got}/{want}" for name, (got, want) in figures.items()))
    for problem in problems[:20]:
        print(f"  - {problem}")
    if len(problems) > 20:
        print(f"  … and {len(problems) - 20} more")
    if connection.vendor == "postgresql" and not args.no_baseline:
        raw_site = site_create(tenant=tenant, name="raw psycopg baseline", allowed_origins=[ORIGIN])
        raw_cpu_before = cpu_snapshot(None)
        raw, raw_wall = raw_baseline(sessions, tenant_id=tenant.pk, site_id=raw_site.pk, concurrency=args.concurrency)
        raw_cpu = {name: seconds - raw_cpu_before[name] for name, seconds in cpu_snapshot(None).items()}
        raw_cpu["postgres"] += sum(raw.backend_cpu)
        raw_events = sum(o.events for o in raw.outcomes if o.status == 202)
        raw_latencies = sorted(o.seconds * 1000 for o in raw.outcomes)
        raw_p99 = percentile(raw_latencies, 99)
        ratio = (accepted_events / wall) / (raw_events / raw_wall)
        print(
            f"raw psycopg: {raw_events / raw_wall:,.0f} events/s ({len(raw.outcomes)} transactions in {raw_wall:.2f} s, "
            f"{args.concurrency} threads, p99 {raw_p99:.1f} ms): the same writes with no HTTP and no Django"
        )
        print(
            f"raw cpu:     client {raw_cpu['client']:.2f} s, postgres {raw_cpu['postgres']:.2f} s; "
            f"postgres {raw_cpu['postgres'] * 1000 / max(1, len(raw.outcomes)):.2f} ms per transaction "
            f"(HTTP run: {cpu['postgres'] * 1000 / max(1, len(outcomes)):.2f} ms per request)"
        )
        print(f"RATIO:       {ratio:.2f} of raw psycopg (HTTP p99 {p99:.1f} ms)")
        if raw_events != unique_events:
            problems.append(f"raw baseline stored {raw_events} events, expected {unique_events}")
    print("PASS" if not problems else f"FAIL ({len(problems)} problems{'; server log: ' + str(log_path) if log_path else ''})")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
