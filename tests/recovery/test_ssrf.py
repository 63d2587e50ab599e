"""The SSRF guard: which webhook URLs are refused at rule creation and at delivery, before any connection."""

import ipaddress
import socket

import pytest

from recovery import ssrf
from recovery.webhooks import deliver, new_secret

# Names the fake resolver knows; nothing in these tests reaches real DNS or the network.
DNS = {
    "localhost": ["127.0.0.1"],
    "internal.example.test": ["10.0.0.5"],
    "mixed.example.test": ["93.184.216.34", "192.168.1.10"],
    "hooks.example.com": ["93.184.216.34"],
    "public.example.test": ["93.184.216.34"],
}

REFUSED = [
    ("https://127.0.0.1/hook", "host is a loopback address 127.0.0.1"),
    ("https://10.0.0.1/hook", "host is a private address 10.0.0.1"),
    ("https://169.254.169.254/latest/meta-data/", "host is a cloud metadata address 169.254.169.254"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "host is a cloud metadata address fd00:ec2::254"),
    ("https://[::1]/hook", "host is a loopback address ::1"),
    ("https://[::ffff:127.0.0.1]/hook", "host is a loopback address 127.0.0.1 (inside ::ffff:7f00:1)"),
    ("https://100.64.0.1/hook", "host is a carrier-grade NAT address 100.64.0.1"),
    ("https://localhost/hook", "host localhost is a local name"),
    ("https://internal.example.test/hook", "host resolves to a private address 10.0.0.5"),
    ("https://mixed.example.test/hook", "host resolves to a private address 192.168.1.10"),
    ("http://public.example.test/hook", "webhook URL must use https"),
]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """The guard's resolver answers from DNS; returns the list of names it was asked for."""
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in DNS[host]]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every outgoing connection attempt, recorded and refused (there must be none)."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise ConnectionRefusedError(f"test forbids connecting to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    return attempts


@pytest.fixture
def debug_flag_off(settings):
    # DEBUG on, so only the missing flag keeps loopback out.
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = False


@pytest.mark.usefixtures("debug_flag_off")
@pytest.mark.parametrize(("url", "problem"), REFUSED)
def test_validate_refuses_non_public_targets(url, problem):
    with pytest.raises(ValueError) as refused:
        ssrf.validate_webhook_url(url)
    assert str(refused.value) == problem


@pytest.mark.usefixtures("debug_flag_off")
@pytest.mark.parametrize(("url", "problem"), REFUSED)
def test_deliver_refuses_non_public_targets_without_connecting(url, problem, connections):
    result = deliver(url=url, payload={"event": "test"}, secrets=[new_secret()], msg_id="msg_1")

    assert (result.ok, result.retryable, result.status_code) == (False, False, None)
    assert result.error == f"refused: {problem}"
    assert connections == []


def test_loopback_flag_is_ignored_when_debug_is_off(settings, connections):
    settings.DEBUG = False
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True

    with pytest.raises(ValueError, match="loopback address 127.0.0.1"):
        ssrf.validate_webhook_url("https://127.0.0.1:8443/hook")
    with pytest.raises(ValueError, match="must use https"):
        ssrf.validate_webhook_url("http://127.0.0.1:8080/hook")
    result = deliver(url="https://127.0.0.1:8443/hook", payload={}, secrets=[new_secret()], msg_id="msg_1")
    assert (result.ok, result.retryable) == (False, False)
    assert result.error == "refused: host is a loopback address 127.0.0.1"
    assert connections == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://127.0.0.2/hook", "http://[::1]:8080/hook", "http://localhost/"]
)
def test_loopback_flag_with_debug_allows_loopback(settings, url):
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True

    assert ssrf.validate_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://10.0.0.1/hook", "private address 10.0.0.1"),
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
        ("https://internal.example.test/hook", "private address 10.0.0.5"),
        ("http://public.example.test/hook", "plain http is allowed only to loopback, not 93.184.216.34"),
    ],
)
def test_loopback_flag_allows_nothing_else(settings, url, problem):
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True

    with pytest.raises(ValueError, match=problem):
        ssrf.validate_webhook_url(url)


def test_public_address_passes(fake_dns, connections):
    url = "https://hooks.example.com/formrecap?tenant=acme"

    assert ssrf.validate_webhook_url(url) == url
    assert fake_dns == ["hooks.example.com"]
    assert connections == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "not a valid URL"),
        ("hooks.example.com/formrecap", "not a valid URL"),
        ("https://", "not a valid URL"),
        ("https://[::1/hook", "not a valid URL"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks example.com/", "not a valid URL"),
        ("ftp://hooks.example.com/", "webhook URL must use https"),
        ("https://nowhere.example.test/", "host nowhere.example.test does not resolve"),
    ],
)
def test_malformed_or_unresolvable_urls_are_refused(url, problem):
    with pytest.raises(ValueError, match=problem):
        ssrf.validate_webhook_url(url)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),  # 240/4 is "reserved", and Python files it under private as well
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("64:ff9b::a00:1", "private address 10.0.0.1"),  # NAT64 to 10.0.0.1
        ("2002:a9fe:a9fe::", "cloud metadata address 169.254.169.254"),  # 6to4 to the metadata service
        ("2001:db8::1", "private"),  # documentation range
    ],
)
def test_other_non_public_addresses_are_refused(address, problem):
    assert problem in ssrf.address_problem(ipaddress.ip_address(address))
