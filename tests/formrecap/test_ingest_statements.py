"""The ingest path's hand-built statements on PostgreSQL: values bound on the server, statements prepared once per
connection (formrecap/ingest/statements.py), and the switch that turns preparing off for poolers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from formrecap.models import FormSession, TraceChunk
from tests.conftest import SITE_ORIGIN

REPO = Path(__file__).resolve().parents[2]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_ingest_statements_are_prepared_once_and_store_what_was_sent(on_postgres, site, make_batch):
    client = Client()
    first = make_batch(events=[{"type": "focus", "field": "prénom", "ts": 10}, {"type": "blur", "field": "prénom", "ts": 90}])
    second = make_batch(session_id=first["session_id"], seq=1, events=[{"type": "focus", "field": "nom", "ts": 200}], sent_at=250)
    third = make_batch(session_id=first["session_id"], seq=2, events=[{"type": "exit", "ts": 400}], sent_at=450)

    def send(body):
        response = client.post("/api/v1/ingest/", json.dumps(body), content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN)
        assert response.status_code == 202, response.content

    send(first)
    prepared = _prepared_statements()
    send(second)  # the same statements as the first batch's, but for the session's creation
    assert len(_prepared_statements()) == len(prepared) + 1, _prepared_statements()  # the select of an existing session
    send(third)

    statements = _prepared_statements()
    session_inserts = [s for s in statements if s.startswith('INSERT INTO "formrecap_formsession"')]
    assert len(session_inserts) == 1, statements
    # The chunk and the session's new values in one statement: the update only runs when the chunk is new.
    chunk_statements = [s for s in statements if s.startswith('WITH inserted AS (INSERT INTO "formrecap_tracechunk"')]
    assert chunk_statements and all('UPDATE "formrecap_formsession"' in s for s in chunk_statements), statements
    assert any(s.startswith("SELECT") and s.endswith("FOR UPDATE") for s in statements)

    session = FormSession.all_tenants.get(session_uuid=first["session_id"])
    left = FormSession.Status.ABANDONED if site.outreach_delay_seconds == 0 else FormSession.Status.EXITED
    assert (session.batch_count, session.event_count, session.status) == (3, 4, left)
    stored = list(TraceChunk.all_tenants.filter(session=session).order_by("seq").values_list("events", flat=True))
    assert stored == [[{"type": "focus", "field": "prenom", "ts": 10}, {"type": "blur", "field": "prenom", "ts": 90}],
                      [{"type": "focus", "field": "nom", "ts": 200}], [{"type": "exit", "ts": 400}]]  # fmt: skip


@pytest.mark.parametrize(("value", "threshold"), [(None, "0"), ("1", "0"), ("0", "None")])
def test_db_prepared_statements_sets_the_connections_prepare_threshold(value, threshold):
    env = {k: v for k, v in os.environ.items() if k != "DB_PREPARED_STATEMENTS"}
    env |= {"DJANGO_SETTINGS_MODULE": "formrecap.settings", "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/any"}
    if value is not None:
        env["DB_PREPARED_STATEMENTS"] = value
    code = "import django; django.setup(); from django.db import connection; " \
           "print(connection.get_connection_params().get('prepare_threshold'))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == threshold


def test_the_fingerprint_is_the_hash_of_the_form_path_and_events_as_one_canonical_json():
    # Stored fingerprints must stay comparable across releases: a retry of a batch stored before must match.
    import hashlib

    from formrecap.ingest.schema import parse_batch
    from formrecap.ingest.services import batch_fingerprint

    body = {"site_key": "pk_x", "session_id": "6f1c2b36-58f5-4f0e-9d8e-0c0c3c7b8f11", "seq": 0, "sent_at": 500,
            "form": {"id": "inscripcion-2", "path": "/dé/\"x\""},
            "events": [{"ts": 10, "type": "focus", "field": "email"}, {"type": "blur", "field": "email", "ts": 90}]}  # fmt: skip
    batch = parse_batch(body, max_events=100)
    canonical = json.dumps([batch.form_id, batch.path, batch.events], separators=(",", ":"), sort_keys=True)
    assert batch_fingerprint(batch) == hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
