"""Brute force: failed admin logins lock the username and the client IP, wrong API keys lock the client IP.

While locked, the right password or key is refused too (429 with Retry-After) until the lockout passes.
"""

import pytest
from rest_framework.test import APIClient

from formrecap import lockout
from tests.factories import UserFactory

LOGIN = "/admin/login/"
PASSWORD = "pw-for-tests"
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"


@pytest.fixture
def limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FORMRECAP_LOGIN_FAILURES_PER_USER = 5
    settings.FORMRECAP_LOGIN_FAILURES_PER_IP = 20
    settings.FORMRECAP_LOGIN_LOCKOUT_SECONDS = 900
    settings.FORMRECAP_API_KEY_FAILURES_PER_IP = 10
    settings.FORMRECAP_API_KEY_LOCKOUT_SECONDS = 600
    return settings


@pytest.fixture
def operator(db, limits):
    return UserFactory(username="ops", is_superuser=True)


@pytest.fixture
def later(monkeypatch):
    """Moves the lockout clock forward by the given seconds."""
    now = lockout._now()

    def move(seconds: float) -> None:
        monkeypatch.setattr(lockout, "_now", lambda: now + seconds)

    return move


def log_in(client, username: str, password: str, ip: str = ATTACKER):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_hundred_wrong_passwords_lock_the_account_and_the_right_one_waits_for_the_lockout(client, operator, later):
    answers = [log_in(client, "ops", f"guess-{i}").status_code for i in range(100)]
    assert answers[:4] == [200] * 4  # the form again, with its error
    assert set(answers[4:]) == {429}

    response = log_in(client, "ops", PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    assert 890 <= int(response["Retry-After"]) <= 900
    assert "Too many failed logins" in response.content.decode() and "try again in about 15 minutes" in response.content.decode()

    later(901)
    response = log_in(client, "ops", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_the_account_is_locked_from_every_address(client, operator):
    for i in range(5):
        log_in(client, "ops", f"guess-{i}")
    assert log_in(client, "ops", PASSWORD, ip=NEIGHBOUR).status_code == 429


def test_one_address_guessing_many_accounts_is_locked_for_every_account(client, operator, limits):
    limits.FORMRECAP_LOGIN_FAILURES_PER_IP = 3
    for name in ("root", "admin", "test"):
        log_in(client, name, "guess")
    assert log_in(client, "ops", PASSWORD).status_code == 429 and not logged_in(client)
    # another address is not locked
    assert log_in(client, "ops", PASSWORD, ip=NEIGHBOUR).status_code == 302


def test_successful_logins_do_not_count(client, operator, limits):
    limits.FORMRECAP_LOGIN_FAILURES_PER_IP = 3
    limits.FORMRECAP_LOGIN_FAILURES_PER_USER = 3
    for _ in range(10):
        assert log_in(client, "ops", PASSWORD).status_code == 302
        client.logout()
    # a success resets the account's count: two failures, a success, two failures still leave it open
    for _ in range(2):
        log_in(client, "ops", "typo", ip=NEIGHBOUR)
    assert log_in(client, "ops", PASSWORD, ip=NEIGHBOUR).status_code == 302
    client.logout()
    log_in(client, "ops", "typo")
    log_in(client, "ops", "typo", ip=NEIGHBOUR)
    assert log_in(client, "ops", PASSWORD, ip="192.0.2.1").status_code == 302


def test_the_login_page_still_opens_while_locked(client, operator):
    for i in range(5):
        log_in(client, "ops", f"guess-{i}")
    assert client.get(LOGIN, REMOTE_ADDR=ATTACKER).status_code == 200


def api_get(secret: str, ip: str = ATTACKER):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/sites/", REMOTE_ADDR=ip)


def test_wrong_api_keys_lock_the_address_and_the_right_key_waits_for_the_lockout(limits, issued_key, later):
    answers = [api_get(f"sk_guess{i:04d}").status_code for i in range(100)]
    assert answers[:10] == [401] * 10
    assert set(answers[10:]) == {429}

    response = api_get(issued_key.secret)
    assert response.status_code == 429
    assert 590 <= int(response["Retry-After"]) <= 600
    assert response.json()["detail"].startswith("too many wrong API keys from this address")
    # another address is not locked
    assert api_get(issued_key.secret, ip=NEIGHBOUR).status_code == 200

    later(601)
    assert api_get(issued_key.secret).status_code == 200


def test_right_api_keys_do_not_count(limits, issued_key):
    assert {api_get(issued_key.secret).status_code for _ in range(25)} == {200}
    assert api_get("sk_guess").status_code == 401
