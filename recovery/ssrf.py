"""Which webhook URLs and addresses FormRecap may send to: public https endpoints only (the SSRF guard).

``validate_webhook_url`` checks a URL when a rule is saved; ``checked_addresses`` is the same check at
delivery time, whose result is the only set of addresses a delivery may connect to (see recovery.webhooks).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services: never a webhook target, whatever the flags.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# RFC 6761: these names are the local machine, whatever a resolver answers for them.
LOCAL_NAMES = ("localhost",)


class UnsafeWebhookURL(ValueError):
    """The URL or one of its host's addresses is not an allowed webhook target."""


class HostNotFound(ValueError):
    """The host name does not resolve (possibly a transient DNS failure)."""


def loopback_allowed() -> bool:
    """Loopback targets are for local development and tests: the flag counts only with DEBUG on."""
    return bool(settings.DEBUG and getattr(settings, "FORMRECAP_WEBHOOK_ALLOW_LOOPBACK", False))


def address_problem(ip: IPAddress) -> str | None:
    """Why nothing may be sent to ``ip`` ("a private address 10.0.0.5"), or None when it is public."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        problem = address_problem(embedded)
        if problem or ip.ipv4_mapped is not None:  # a mapped address is exactly its IPv4 address
            return f"{problem} (inside {ip})" if problem else None
    if ip in METADATA_ADDRESSES:
        return f"a cloud metadata address {ip}"
    if ip.is_loopback:
        return None if loopback_allowed() else f"a loopback address {ip}"
    if ip.is_unspecified:
        return f"an unspecified address {ip}"
    if ip.is_link_local:
        return f"a link-local address {ip}"
    if ip.is_multicast:
        return f"a multicast address {ip}"
    if ip in CARRIER_GRADE_NAT:
        return f"a carrier-grade NAT address {ip}"
    if ip.is_private:
        return f"a private address {ip}"
    if ip.is_reserved:
        return f"a reserved address {ip}"
    if not ip.is_global:
        return f"a non-public address {ip}"
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches (IPv4-mapped, 6to4, Teredo, NAT64), if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_webhook_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a well-formed webhook URL; raises UnsafeWebhookURL naming the problem."""
    if not isinstance(url, str) or not url or any(c.isspace() or c == "\\" or ord(c) < 32 for c in url):
        raise UnsafeWebhookURL("not a valid URL")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # "https://[::1", "https://a:99999"
        raise UnsafeWebhookURL("not a valid URL") from None
    if not parts.scheme or not host:
        raise UnsafeWebhookURL("not a valid URL")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_allowed()):
        raise UnsafeWebhookURL("webhook URL must use https")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def checked_addresses(host: str, port: int, *, scheme: str) -> list[str]:
    """Resolve ``host`` once and return its addresses if every one of them is an allowed target.

    Raises UnsafeWebhookURL if any address is refused (a name with one private record is refused
    whole), HostNotFound if the name does not resolve. Callers connect only to the returned addresses,
    never to the name, so a DNS answer that changes after this check (rebinding) cannot reach them.
    """
    host = host.strip("[]").rstrip(".").lower()
    if not loopback_allowed() and any(host == name or host.endswith(f".{name}") for name in LOCAL_NAMES):
        raise UnsafeWebhookURL(f"host {host} is a local name")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostNotFound(f"host {host} does not resolve ({exc})") from None
        # dict.fromkeys: unique, in the resolver's order of preference.
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise HostNotFound(f"host {host} does not resolve")
    verb = "is" if literal is not None else "resolves to"
    for ip in addresses:
        problem = address_problem(ip)
        if problem:
            raise UnsafeWebhookURL(f"host {verb} {problem}")
        reached = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip
        if scheme != "https" and not reached.is_loopback:
            raise UnsafeWebhookURL(f"webhook URL must use https (plain http is allowed only to loopback, not {ip})")
    return [str(ip) for ip in addresses]


def validate_webhook_url(url: str) -> str:
    """Return ``url`` if it is an https URL whose host resolves only to public addresses; else raise ValueError."""
    scheme, host, port = parse_webhook_url(url)
    checked_addresses(host, port, scheme=scheme)
    return url
