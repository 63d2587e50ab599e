"""The connection pool's check (formrecap/postgresql/base.py): a connection back from a request moments ago is lent
without a round trip, one idle longer is checked, and a broken idle one is replaced instead of failing a request."""

import copy

import pytest
from django.db import OperationalError, connection
from psycopg_pool import ConnectionPool

from formrecap.postgresql.base import DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def pooled(on_postgres, monkeypatch):
    """A second connection to the test database, through a pool of one, and the count of checks it ran."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["CONN_HEALTH_CHECKS"] = True
    settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": 5}
    checks = []
    real_check = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: checks.append(conn) or real_check(conn)))
    wrapper = DatabaseWrapper(settings_dict, alias="pool_check")
    yield wrapper, checks
    wrapper.close()
    wrapper.close_pool()


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _request(wrapper) -> int:
    """What a request does: borrow the connection, use it, give it back."""
    try:
        return _backend_pid(wrapper)
    finally:
        wrapper.close()


def test_a_connection_returned_moments_ago_is_lent_without_a_check(pooled, settings):
    wrapper, checks = pooled
    settings.FORMRECAP_DB_POOL_CHECK_IDLE_SECONDS = 60
    first = _request(wrapper)  # a new connection: never returned, so checked
    assert len(checks) == 1
    assert [_request(wrapper) for _ in range(5)] == [first] * 5
    assert len(checks) == 1  # five requests, no round trip to check


def test_a_connection_idle_past_the_window_is_checked_and_a_broken_one_replaced(pooled, settings):
    wrapper, checks = pooled
    settings.FORMRECAP_DB_POOL_CHECK_IDLE_SECONDS = 0
    first = _request(wrapper)
    with connection.cursor() as cursor:  # a database restart, as far as this connection can tell
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [first])  # waits for the backend to end
    second = _request(wrapper)  # the check finds it broken: the pool connects again, the request never sees it
    assert second != first
    assert len(checks) >= 2


def test_within_the_window_a_broken_connection_fails_one_request_then_is_gone(pooled, settings):
    # The documented price of skipping the check: one failed request (a 503 with Retry-After in a view).
    wrapper, _checks = pooled
    settings.FORMRECAP_DB_POOL_CHECK_IDLE_SECONDS = 60
    first = _request(wrapper)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [first])  # waits for the backend to end
    with pytest.raises(OperationalError):
        _request(wrapper)
    assert _request(wrapper) != first
