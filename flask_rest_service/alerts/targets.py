"""Notification targets: which URLs are accepted, where they connect, how they are shown.

A plain ``https://`` or ``http://`` URL is a webhook the service posts a
signed JSON body to (``notify.py``); any other scheme must be one Apprise
knows. Targets hold secrets (tokens in paths, passwords, topics): the API
shows only the scheme and, when it names a real host, the host.

Link-local addresses (169.254.0.0/16, fe80::/10) and the clouds' metadata
services (169.254.169.254, fd00:ec2::254, metadata.google.internal,
100.100.100.200) hand out credentials to whoever asks from inside: a rule
must not be able to point the service at them. When a rule is made, every
host its targets name (a webhook's, and each ``*host`` an Apprise target
keeps, as an e-mail target's SMTP server) is checked. When a notification is
sent, ``guarded`` refuses the connection itself: Python's ``socket.connect``
audit event (PEP 578) is raised for every connection any library makes, with
the address it is about to connect to, so names that resolve there, DNS
that changes its answer, and redirects followed by Apprise are refused too.
``ALERTS_ALLOW_LINK_LOCAL`` lifts both. The same hook keeps each connection a
delivery makes, so that ``guarded`` can cut them all at the delivery's
deadline (``ALERTS_DELIVERY_TIMEOUT_SECONDS``), whichever library made them.
"""

import ipaddress
import re
import socket
import sys
import threading
from contextlib import contextmanager
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
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")


def is_webhook(url: str) -> bool:
    """Whether a target is a webhook of the service's own (signed), not an Apprise URL."""
    return urlsplit(url).scheme.lower() in WEBHOOK_SCHEMES


def hosts(url: str) -> list[str]:
    """Every host a target names: a webhook's; each ``*host`` of an Apprise target (brackets off)."""
    if is_webhook(url):
        names = [urlsplit(url).hostname]
    else:
        plugin = apprise.Apprise.instantiate(url)
        names = [value for name, value in vars(plugin).items() if name.endswith("host")] if plugin else []
    return [name.strip("[]") for name in names if isinstance(name, str) and name]


def forbidden_address(address: str) -> bool:
    """Whether an address is link-local or a metadata service."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_link_local or ip in METADATA_ADDRESSES


def forbidden_host(name: str) -> bool:
    """Whether a host is a metadata name or a link-local or metadata address."""
    return name.lower().rstrip(".") in METADATA_NAMES or forbidden_address(name)


def problem(url, allow_link_local: bool = False) -> str | None:
    """What is wrong with a target URL, or None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return f"must be a URL of at most {MAX_URL_LENGTH} characters"
    try:
        if is_webhook(url):
            wrong = _webhook_problem(urlsplit(url))
            if wrong:
                return wrong
        elif apprise.Apprise.instantiate(url) is None:
            return "neither an https:// webhook nor a URL Apprise can notify (github.com/caronc/apprise/wiki)"
        names = hosts(url)
    except ValueError as error:  # urlsplit and Apprise on brackets, ports, IDNA that cannot be read
        return f"not a URL that can be read: {error}"
    if not allow_link_local and any(map(forbidden_host, names)):
        return "link-local and metadata addresses are refused (ALERTS_ALLOW_LINK_LOCAL allows them)"
    return None


def _webhook_problem(parts) -> str | None:
    if parts.username is not None or parts.password is not None:
        return "a webhook URL must not hold credentials: put a token in its path or query"
    name = parts.hostname
    if not name:
        return "a webhook URL needs a host"
    parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    if not (HOSTNAME.fullmatch(name) or forbidden_address(name) or _is_ip(name)):
        return "a webhook URL's host must be a host name or an IP address"
    return None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


# --- connections, refused as they are made, cut at the deadline ---------------------------

_delivering = threading.local()
_hook_installed = threading.Lock()


class Delivery:
    """The connections one delivery makes in its thread: refused if link-local, cut at its deadline.

    ``refused`` is the address a connection was refused for; ``expired``,
    whether the deadline passed while the delivery was still connecting,
    sending or waiting for its answer. At the deadline every connection it
    made is shut down (a blocked connect, send or read in the delivering
    thread then fails at once), and any new one is refused: a receiver that
    trickles its answer a byte at a time, which a socket's timeout (per
    read) never cuts, is cut here. Each connection is kept as a duplicate
    of its socket, so that the one a TLS layer takes over is still reachable.
    """

    def __init__(self, allow_link_local: bool, seconds: float | None):
        self.refusing, self.refused, self.expired = not allow_link_local, None, False
        self._sockets: list[socket.socket] = []
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire) if seconds else None
        if self._timer:
            self._timer.daemon = True
            self._timer.start()

    def connecting(self, sock, address) -> None:
        """Refuse or keep a connection about to be made (from the audit hook)."""
        if self.refusing and isinstance(address, tuple) and forbidden_address(str(address[0])):
            self.refused = str(address[0])
            raise ConnectionRefusedError(f"{address[0]} is a link-local or metadata address")
        with self._lock:
            if self.expired:
                raise TimeoutError("the delivery's deadline has passed")
            if isinstance(sock, socket.socket):
                self._sockets.append(socket.fromfd(sock.fileno(), sock.family, sock.type))

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # closed already by the receiver

    def close(self) -> None:
        """End the delivery: no deadline any more, the duplicates closed."""
        if self._timer:
            self._timer.cancel()
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    delivery = getattr(_delivering, "delivery", None)
    if delivery is not None:
        delivery.connecting(args[0], args[1])


@contextmanager
def guarded(allow_link_local: bool, seconds: float | None = None):
    """While the block runs, this thread's connections to link-local and metadata addresses fail,
    and, given ``seconds``, every connection it makes is cut that long after the block started.

    The block learns of a refusal in ``.refused`` (the address) and of the
    deadline in ``.expired``, whichever library made the connection and
    however it reports the failure. Name resolution (before any connection)
    is not cut: the system resolver's own timeout bounds it.
    """
    with _hook_installed:
        if not getattr(guarded, "installed", False):
            sys.addaudithook(_audit)  # once per process; it cannot be removed, and costs nothing elsewhere
            guarded.installed = True
    _delivering.delivery = delivery = Delivery(allow_link_local, seconds)
    try:
        yield delivery
    finally:
        _delivering.delivery = None
        delivery.close()


def shown(url: str) -> str:
    """A target as the API shows it: ``https://hooks.example.com/…``, ``slack://…``."""
    parts = urlsplit(url)
    name = parts.hostname or ""
    real_host = "." in name or ":" in name or name == "localhost"
    return f"{parts.scheme}://{name}/…" if real_host else f"{parts.scheme}://…"
