"""API keys: scopes, hashed storage, and the check on every request.

A key is ``rk_`` and 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored (``api_keys``, in the store) or kept (keys from ``API_KEYS``);
a random key that long needs no slow hash. Scopes nest: ``admin`` includes
``write``, which includes ``read``. ``read`` reads; ``write`` adds readings
(``POST /readings/``) and nothing else, because it is the key a device
carries, and a device's key, if stolen, must not be able to change or erase
the history; changing or deleting readings (one or many) takes ``admin``.

While no key exists at all the service is open (a first local try). Once
one exists, every request but the health check needs a key. What the check
learns is cached for ``AUTH_CACHE_SECONDS`` per process: a new first key or a
revocation takes effect within that time. Unknown keys are cached too, apart
(the last ``MAX_CACHED_KEYS`` of each), so a flood of guesses never pushes a
real key out.

A key is looked up only after the rate limit has counted the request: a key
this process has found before counts against its own budget, any other
request against its address's. So guesses are limited like anything else, and
past the limit they are answered 429 without touching the database.
"""

import hashlib
import secrets
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, g, request

from .bsonvalues import utc_now
from .errors import ApiError
from .stores import DuplicateName, StoreUnavailable
from .validation import MAX_LABEL_LENGTH

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "rk_"
MIN_ENV_KEY_LENGTH = 20
REALM = 'Bearer realm="readings"'
READ_METHODS = {"GET", "HEAD"}
ADDING = {("POST", "readinglist")}  # (method, endpoint) a write key may do: add readings
ADMIN_ONLY = {"rulelist", "rule", "ruleevents"}  # reading rules too: their targets are secrets, if masked
MAX_CACHED_KEYS = 1024
# The health check, the API's description and the dashboard page hold no
# readings; Swagger UI's and the dashboard's assets neither.
OPEN_PATHS = {"/", "/openapi.json", "/docs", "/dashboard", "/favicon.ico"}  # /docs: the redirect to /docs/
OPEN_PREFIXES = ("/docs/", "/static/")


class StartupRefused(RuntimeError):
    """The web process must not serve as configured (an ordinary exception:
    gunicorn stops on it, where SystemExit would have it start a new worker)."""


class KeyManagementError(ValueError):
    """A key management request that cannot be carried out."""


class BadKeyName(KeyManagementError):
    """A name no key may have."""


def check_name(name: str) -> None:
    """Refuse a blank name, one with a control or format character, or one over ``MAX_LABEL_LENGTH``.

    A tab or newline in a name would forge columns or lines of ``keys list``;
    the rest of Unicode's C categories (format, private use, unassigned) make
    names that look alike and differ.
    """
    if not name.strip():
        raise BadKeyName("a key's name must not be empty or blank")
    if len(name) > MAX_LABEL_LENGTH:
        raise BadKeyName(f"a key's name has at most {MAX_LABEL_LENGTH} characters, not {len(name)}")
    bad = next((char for char in name if unicodedata.category(char).startswith("C")), None)
    if bad is not None:
        raise BadKeyName(f"a key's name must not hold control or format characters such as {bad!r}")


def digest(key: str) -> str:
    """Return the stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def allows(scope: str, needed: str) -> bool:
    """Whether a key of ``scope`` may do what needs ``needed``."""
    return SCOPES.index(scope) >= SCOPES.index(needed)


def parse_env_keys(raw: str) -> list[dict]:
    """Parse ``API_KEYS``: ``name:scope:key`` entries separated by commas; names and keys each once."""
    keys, names, hashes = [], set(), set()
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, scope, key = (entry.split(":", 2) + ["", ""])[:3]
        if not name or scope not in SCOPES or len(key) < MIN_ENV_KEY_LENGTH:
            raise ValueError(
                f"API_KEYS entries are name:scope:key with scope one of {', '.join(SCOPES)} "
                f"and a key of at least {MIN_ENV_KEY_LENGTH} characters; got one for {name or '?'!r}"
            )
        try:
            check_name(name)
        except BadKeyName as error:
            raise ValueError(f"API_KEYS: {error}: {name[:40]!r}") from None
        hashed = digest(key)
        if name in names:
            raise ValueError(f"API_KEYS has two entries named {name!r}")
        if hashed in hashes:
            raise ValueError(f"API_KEYS has one key in two entries, the second named {name!r}")
        names.add(name)
        hashes.add(hashed)
        keys.append({"name": name, "scope": scope, "hash": hashed, "source": "environment"})
    return keys


class Keys:
    """The API keys: those stored (``store.keys``) and those from ``API_KEYS``."""

    def __init__(self, stored, env_keys: list[dict]):
        self.stored = stored
        self.env_keys = {key["hash"]: key for key in env_keys}

    def create(self, name: str, scope: str) -> str:
        """Store a new key; return it (the only time it is shown)."""
        check_name(name)
        if scope not in SCOPES:
            raise KeyManagementError(f"scope must be one of {', '.join(SCOPES)}")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = {"name": name, "scope": scope, "hash": digest(key), "created": utc_now(), "last_used": None}
        try:
            self.stored.add(record)
        except DuplicateName:
            raise KeyManagementError(f"a key named {name!r} exists; revoke it first") from None
        return key

    def list(self) -> list[dict]:
        """Every key's name, scope, created and last used; never the key or its hash."""
        env = [
            {"name": k["name"], "scope": k["scope"], "source": "environment"} for k in self.env_keys.values()
        ]
        return [*self.stored.list(), *env]

    def revoke(self, name: str) -> bool:
        """Delete a stored key; return whether it existed."""
        return self.stored.revoke(name)

    def any(self) -> bool:
        """Whether any key exists at all."""
        return bool(self.env_keys) or self.stored.any()

    def find(self, key: str) -> dict | None:
        """Return the key's record, or None.

        The look-up is by the key's SHA-256, an equality match in the
        database: its timing can tell at most how much of a guess's hash
        matches a stored hash, which says nothing of the key itself.
        """
        hashed = digest(key)
        return self.env_keys.get(hashed) or self.stored.find(hashed)

    def touch(self, name: str) -> None:
        """Record that a stored key was used."""
        self.stored.touch(name, utc_now())


def presented_key() -> str | None:
    """The key sent as ``X-API-Key`` or ``Authorization: Bearer``."""
    key = request.headers.get("X-API-Key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class Guard:
    """Decides per request whether it may proceed; caches what it learns."""

    def __init__(
        self,
        store: Keys,
        cache_seconds: float,
        required: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.cache_seconds = cache_seconds
        self.required = required  # REQUIRE_API_KEYS: never open, even with no key
        self.clock = clock
        self._any: tuple[float, bool] = (float("-inf"), False)
        # hash -> (when found, record), and hash -> when not found; oldest first
        self._known: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()

    def is_open(self) -> bool:
        """Whether no key exists (cached)."""
        if self.required:
            return False
        checked, exists = self._any
        if self.clock() - checked >= self.cache_seconds:
            exists = self.store.any()
            self._any = (self.clock(), exists)
        return not exists

    def identify(self, key: str) -> dict | None:
        """Return the key's record (cached), or None; marks stored keys used."""
        hashed, now = digest(key), self.clock()
        found = self._known.get(hashed)
        if found and now - found[0] < self.cache_seconds:
            return found[1]
        missed = self._unknown.get(hashed)
        if missed is not None and now - missed < self.cache_seconds:
            return None
        record = self.store.find(key)
        if record is None:
            self._known.pop(hashed, None)
            _remember(self._unknown, hashed, now)
            return None
        if record.get("source") != "environment":
            self.store.touch(record["name"])  # at most once per cache period
        self._unknown.pop(hashed, None)
        _remember(self._known, hashed, (now, record))
        return record


def _remember(cache: OrderedDict, hashed: str, value) -> None:
    cache[hashed] = value
    cache.move_to_end(hashed)
    while len(cache) > MAX_CACHED_KEYS:
        cache.popitem(last=False)


def rate_limit_key() -> str:
    """Whom a request counts against: a key this process has found, else its address."""
    name = g.get("rate_name")
    return f"key:{name}" if name else f"addr:{request.remote_addr}"


def announce(app) -> None:
    """At start-up: warn when open; refuse to start without keys if they are required."""
    keys: Keys = app.extensions["keys"]
    try:
        exists = keys.any()
    except StoreUnavailable as error:
        app.logger.warning("could not check API keys (%s); each request will", error.reason())
        return
    if not exists and app.config["REQUIRE_API_KEYS"]:
        raise StartupRefused(
            "REQUIRE_API_KEYS is set and no API key exists: create one with "
            "'flask --app flask_rest_service keys create NAME --scope admin' or set API_KEYS"
        )
    if not exists:
        app.logger.warning(
            "OPEN MODE: no API key exists, so anyone can read and write; create one to lock it"
        )


def needed_scope() -> str:
    """The scope the current request needs."""
    if request.endpoint in ADMIN_ONLY:
        return "admin"
    if request.method in READ_METHODS:
        return "read"
    return "write" if (request.method, request.endpoint) in ADDING else "admin"


def check_request() -> None:
    """Before the rate limit: whether the request needs a key, and whom it counts against.

    The key presented is looked up here (cached both ways), so that it
    counts against its own budget; ``enforce`` decides, once the limit has
    let the request by.
    """
    g.api_key = g.rate_name = g.presented = g.key_record = None
    g.needs_key = False
    if request.method == "OPTIONS" or request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES):
        return
    guard: Guard = current_app.extensions["guard"]
    if guard.is_open():
        return
    g.needs_key = True
    g.presented = presented_key()
    if g.presented is not None:
        # A valid key counts against its own budget from its first request, not
        # against an address that anonymous clients behind one NAT can exhaust.
        # An unknown key is looked up once a cache period (as enforce would,
        # after the limit) and counts against the address.
        g.key_record = guard.identify(g.presented)
        g.rate_name = g.key_record["name"] if g.key_record else None


def enforce() -> None:
    """After the rate limit: refuse the request unless its key allows it."""
    if not g.get("needs_key"):
        return
    if g.presented is None:
        raise Unauthorized("an API key is required: send it as X-API-Key or Authorization: Bearer")
    record = g.key_record  # looked up by check_request, before the limit
    if record is None:
        raise Unauthorized("unknown API key", error="invalid_token")
    g.api_key = record["name"]
    needed = needed_scope()
    if not allows(record["scope"], needed):
        raise ApiError(
            f"this key's scope is {record['scope']}; {request.method} {request.path} needs {needed}",
            status=403,
        )


class Unauthorized(ApiError):
    """A 401 that tells the client how to authenticate."""

    status = 401

    def __init__(self, detail: str, error: str | None = None):
        challenge = REALM + (f', error="{error}"' if error else "")
        super().__init__(detail, headers={"WWW-Authenticate": challenge})
