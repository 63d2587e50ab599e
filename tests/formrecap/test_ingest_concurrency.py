"""Concurrent batches on PostgreSQL: each batch stored exactly once, one session per uuid."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from formrecap.models import FormSession, TraceChunk
from tests.conftest import SITE_ORIGIN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


def post_in_threads(bodies: list[dict]) -> list[int]:
    def post(body):
        try:
            response = Client().generic("POST", "/api/v1/ingest/", json.dumps(body), "text/plain", HTTP_ORIGIN=SITE_ORIGIN)
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(post, bodies))


def test_the_same_batch_sent_concurrently_is_stored_once(on_postgres, site, make_batch):
    body = make_batch()
    codes = post_in_threads([body] * THREADS)
    assert sorted(codes) == [200] * (THREADS - 1) + [202]
    assert TraceChunk.all_tenants.count() == 1
    session = FormSession.all_tenants.get()
    assert (session.batch_count, session.event_count) == (1, 3)


def test_first_batches_of_one_session_racing_make_one_session(on_postgres, site, make_batch):
    session_id = str(uuid.uuid4())
    codes = post_in_threads([make_batch(session_id=session_id, seq=seq) for seq in range(THREADS)])
    assert codes == [202] * THREADS
    session = FormSession.all_tenants.get()
    assert (session.batch_count, session.event_count) == (THREADS, 3 * THREADS)
    assert sorted(TraceChunk.all_tenants.values_list("seq", flat=True)) == list(range(THREADS))
