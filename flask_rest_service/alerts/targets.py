"""Notification targets: which URLs are accepted, where they connect, how they are shown.

A plain ``https://`` or ``http://`` URL is a webhook the service posts a
signed JSON body to (``notify.py``); any other scheme must be one Apprise
knows. Targets hold secrets (tokens in paths, passwords, topics): the API
shows only the scheme and, when it names a real host, the host.

Link-local addresses (169.254.0.0/16, fe80::/10) and the clouds' metadata
services (169.254.169.254, fd00:ec2::254, metadata.google.internal,
100.100.100.200) hand out credentials to whoever asks from inside: a rule
must not be able to point the service at them. They are refused when the
rule is made (a literal address or a known name) and again when a
notification is sent (what the name resolves to then), unless
``ALERTS_ALLOW_LINK_LOCAL`` says otherwise.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import apprise

WEBHOOK_SCHEMES = ("https", "http")
METADATA_NAMES = {
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
}
MAX_URL_LENGTH = 2000


def is_webhook(url: str) -> bool:
    """Whether a target is a webhook of the service's own (signed), not an Apprise URL."""
    return urlsplit(url).scheme.lower() in WEBHOOK_SCHEMES


def host(url: str) -> str | None:
    """The host a target connects to, if the URL names one (Apprise's for its own schemes)."""
    if is_webhook(url):
        return urlsplit(url).hostname
    plugin = apprise.Apprise.instantiate(url)
    name = getattr(plugin, "host", None) if plugin else None
    return name if isinstance(name, str) and name else None


def forbidden_address(address: str) -> bool:
    """Whether an address is link-local or a metadata service."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_link_local or ip in METADATA_ADDRESSES


def problem(url, allow_link_local: bool = False) -> str | None:
    """What is wrong with a target URL, or None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return f"must be a URL of at most {MAX_URL_LENGTH} characters"
    if is_webhook(url):
        parts = urlsplit(url)
        if not parts.hostname:
            return "a webhook URL needs a host"
    elif apprise.Apprise.instantiate(url) is None:
        return "neither an https:// webhook nor a URL Apprise can notify (github.com/caronc/apprise/wiki)"
    name = host(url)
    if (
        not allow_link_local
        and name
        and (name.lower().rstrip(".") in METADATA_NAMES or forbidden_address(name))
    ):
        return "link-local and metadata addresses are refused (ALERTS_ALLOW_LINK_LOCAL allows them)"
    return None


def resolves_to_forbidden(url: str) -> bool:
    """Whether the target's host resolves, now, to a link-local or metadata address."""
    name = host(url)
    if not name:
        return False
    if name.lower().rstrip(".") in METADATA_NAMES:
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return False  # not a host name (an Apprise token) or not resolvable: nothing to connect to here
    return any(map(forbidden_address, addresses))


def shown(url: str) -> str:
    """A target as the API shows it: ``https://hooks.example.com/…``, ``slack://…``."""
    parts = urlsplit(url)
    name = parts.hostname or ""
    real_host = "." in name or ":" in name or name == "localhost"
    return f"{parts.scheme}://{name}/…" if real_host else f"{parts.scheme}://…"
