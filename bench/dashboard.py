"""Dashboard queries on a large tenant: seeds N sessions (default 1,000,000) with their field figures and recovery
executions straight into PostgreSQL, then times every dashboard selector over several scopes.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/formrecap_bench .venv/bin/python bench/dashboard.py

The seed (generate_series, one INSERT per table) is kept: a later run with the same --sessions reuses it
(--reseed rebuilds it). Sessions start over the last 365 days on 3 sites and 8 forms; 45% submitted, 45%
abandoned (each with a reason and a confidence), the rest still open; every ended session has 5 field rows;
6% of abandoned sessions have a recovery execution (a third held out). Each figure is the median of --repeat
runs of the selector, in milliseconds, after one warm-up run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMS = ["signup", "checkout", "quote", "contact", "newsletter", "booking", "application", "survey"]
FIELDS = ["email", "password", "name", "phone", "card_number"]
REASONS = ["invalid_format", "required", "too_short", "mismatch"]


def seed(tenant, sites, sessions: int) -> float:
    """Fill the tenant with ``sessions`` sessions, their field rows and executions; returns seconds taken."""
    from django.db import connection

    from recovery.services import recovery_rule_create

    started = time.perf_counter()
    distracted = recovery_rule_create(tenant=tenant, action="email", class_code=2, holdout_share=0.33).rule
    comparing = recovery_rule_create(tenant=tenant, action="email", class_code=3, holdout_share=0.33).rule
    site_ids = "ARRAY[" + ",".join(str(site.pk) for site in sites) + "]"
    forms = "ARRAY[" + ",".join(f"'{form}'" for form in FORMS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO formrecap_formsession (tenant_id, site_id, session_uuid, form_id, path, status, visitor_ref,
                anonymous_id, started_at, last_event_at, abandoned_at, submitted_at, recovered_at, returned_at,
                batch_count, event_count, classification_error, reason_code, reason_confidence, created_at)
            SELECT %(tenant)s, ({site_ids})[1 + n %% 3], gen_random_uuid(), ({forms})[1 + (n / 3) %% 8], '/form',
                s.status, '', '', s.started, s.started + interval '3 minutes',
                CASE WHEN s.status = 'abandoned' THEN s.started + interval '33 minutes' END,
                CASE WHEN s.status = 'submitted' THEN s.started + interval '3 minutes' END,
                CASE WHEN s.status = 'abandoned' AND s.r < 0.04 THEN s.started + interval '2 days' END,
                CASE WHEN s.status = 'abandoned' AND s.r < 0.08 THEN s.started + interval '1 day' END,
                3, 40, '',
                CASE WHEN s.status = 'abandoned' THEN 1 + (n::bigint * 7919) %% 6 END,
                CASE WHEN s.status = 'abandoned' THEN 0.3 + 0.7 * s.r END,
                now()
            FROM generate_series(1, %(sessions)s) AS n,
            LATERAL (SELECT now() - random() * interval '365 days' AS started, random() AS r,
                CASE WHEN n %% 20 < 9 THEN 'submitted' WHEN n %% 20 < 18 THEN 'abandoned'
                     WHEN n %% 20 = 18 THEN 'in_progress' ELSE 'exited' END AS status) AS s
        """, {"tenant": tenant.pk, "sessions": sessions})  # fmt: skip
        cursor.execute(f"""
            INSERT INTO analytics_fieldstat (tenant_id, site_id, session_id, form_id, started_at, submitted, field,
                position, focus_count, time_ms, inputs, corrections, failures, reason, is_last)
            SELECT s.tenant_id, s.site_id, s.id, s.form_id, s.started_at, s.status = 'submitted',
                (ARRAY{FIELDS})[1 + p], p, 1 + (s.id + p) %% 3, 800 + ((s.id * 31 + p * 977) %% 20000), 8,
                (s.id + p) %% 4 / 3, CASE WHEN (s.id + p) %% 9 = 0 THEN 1 ELSE 0 END,
                CASE WHEN (s.id + p) %% 9 = 0 THEN (ARRAY{REASONS})[1 + s.id %% 4] ELSE '' END,
                p = 4 - s.id %% 3
            FROM formrecap_formsession s, generate_series(0, 4) AS p
            WHERE s.tenant_id = %(tenant)s AND s.status IN ('submitted', 'abandoned')
        """, {"tenant": tenant.pk})  # fmt: skip
        cursor.execute("""
            INSERT INTO recovery_actionexecution (tenant_id, session_id, rule_id, action, class_code, confidence,
                status, run_after, attempts, detail, idempotency_key, recovered_at, created_at, finished_at)
            SELECT s.tenant_id, s.id, CASE WHEN s.reason_code = 2 THEN %(distracted)s ELSE %(comparing)s END,
                'email', s.reason_code, s.reason_confidence,
                CASE WHEN s.id %% 3 = 0 THEN 'holdout' ELSE 'succeeded' END, s.abandoned_at, 1, '{}',
                'bench:' || s.id, s.recovered_at, s.abandoned_at, s.abandoned_at
            FROM formrecap_formsession s
            WHERE s.tenant_id = %(tenant)s AND s.status = 'abandoned' AND s.reason_code IN (2, 3) AND s.id %% 3 < 2
        """, {"tenant": tenant.pk, "distracted": distracted.pk, "comparing": comparing.pk})  # fmt: skip
        cursor.execute("ANALYZE formrecap_formsession; ANALYZE analytics_fieldstat; ANALYZE recovery_actionexecution")
    return time.perf_counter() - started


def timed(function, scope, repeat: int) -> float:
    function(scope)  # warm-up: plans and caches, as a dashboard that is visited
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(scope)
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reseed", action="store_true", help="drop the bench tenant and seed it again")
    args = parser.parse_args()
    if args.sessions < 1 or args.repeat < 1:
        parser.error("--sessions and --repeat must be at least 1")

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formrecap.settings")
    from ingest import configure_database

    note = configure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from analytics import selectors
    from formrecap.models import FormSession, Site, Tenant
    from formrecap.services import site_create, tenant_create

    if connection.vendor != "postgresql":
        parser.error("the dashboard bench seeds with PostgreSQL's generate_series: set DATABASE_URL to a PostgreSQL database")
    if note:
        print(note)
    call_command("migrate", interactive=False, verbosity=0)
    slug = f"dashboard-bench-{args.sessions}"
    tenant = Tenant.objects.filter(slug=slug).first()
    incomplete = tenant is not None and FormSession.objects.for_tenant(tenant).count() != args.sessions
    if tenant is not None and (args.reseed or incomplete):  # an interrupted seed is started again
        tenant.delete()
        tenant = None
    if tenant is None:
        tenant = tenant_create(name=f"Dashboard bench ({args.sessions:,} sessions)", slug=slug)
        sites = [
            site_create(tenant=tenant, name=f"bench site {n}", allowed_origins=[f"https://s{n}.bench.test"]) for n in range(3)
        ]
        print(f"seeding {args.sessions:,} sessions …", flush=True)
        print(f"seeded in {seed(tenant, sites, args.sessions):.1f} s")
    sites = list(Site.objects.for_tenant(tenant).order_by("pk"))
    count = FormSession.objects.for_tenant(tenant).count()
    from analytics.models import FieldStat
    from recovery.models import ActionExecution

    fields = FieldStat.objects.for_tenant(tenant).count()
    executions = ActionExecution.objects.for_tenant(tenant).count()
    print(f"tenant {slug}: {count:,} sessions, {fields:,} field rows, {executions:,} executions")

    today = timezone.localdate()
    scopes = {
        "30 days, all sites": selectors.Scope(tenant=tenant, start=today - timedelta(days=29), end=today),
        "365 days, all sites": selectors.Scope(tenant=tenant, start=today - timedelta(days=364), end=today),
        "30 days, one form": selectors.Scope(
            tenant=tenant, start=today - timedelta(days=29), end=today, site_id=sites[0].pk, form_id=FORMS[0]
        ),
        "365 days, one form": selectors.Scope(
            tenant=tenant, start=today - timedelta(days=364), end=today, site_id=sites[0].pk, form_id=FORMS[0]
        ),
    }
    queries = [
        ("overview", selectors.overview),
        ("sessions_per_day", selectors.sessions_per_day),
        ("reasons_per_day", selectors.reasons_per_day),
        ("confidence_histogram", selectors.confidence_histogram),
        ("recovery_per_day", selectors.recovery_per_day),
        ("form_list", selectors.form_list),
        ("uplift_per_week", selectors.uplift_per_week),
        ("field_table", selectors.field_table),
    ]
    print(f"\nmedian of {args.repeat} runs, ms ({connection.vendor} {connection.pg_version // 10000})")
    print(f"{'query':<22}" + "".join(f"{name:>22}" for name in scopes))
    totals = dict.fromkeys(scopes, 0.0)
    for name, function in queries:
        cells = []
        for label, scope in scopes.items():
            if name == "field_table" and scope.form_id is None:
                cells.append(f"{'(per form)':>22}")
                continue
            ms = timed(function, scope, args.repeat)
            totals[label] += ms
            cells.append(f"{ms:>22.1f}")
        print(f"{name:<22}" + "".join(cells))
    print(f"{'all (one page load)':<22}" + "".join(f"{totals[label]:>22.1f}" for label in scopes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
