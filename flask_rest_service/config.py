"""Every setting, read from the environment with defaults, in one place."""

import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from limits import parse_many

from .auth import parse_env_keys

DEFAULT_DATABASE = "rest"

# Names a MongoDB connection string may come under, in order of preference:
# MONGO_URL (the original tutorial), MONGODB_URI (hosted MongoDB add-ons),
# MONGO_URI (Flask-PyMongo's own name).
MONGO_URI_VARIABLES = ("MONGO_URL", "MONGODB_URI", "MONGO_URI")

# name: (default, minimum); all integers.
INTEGER_SETTINGS = {
    "MAX_CONTENT_LENGTH": (4 * 1024 * 1024, 1024),
    "MAX_BATCH_SIZE": (1000, 1),
    "DEFAULT_PAGE_SIZE": (100, 1),
    "MAX_PAGE_SIZE": (1000, 1),
    "MAX_READING_DEPTH": (32, 1),
    # How long to look for a MongoDB server and to connect to it.
    "MONGO_TIMEOUT_MS": (2000, 100),
    # The most one request spends on MongoDB in all, retries included (and each
    # operation outside a request: a batch of an export, a job): then a 503.
    # Well under gunicorn's 25 s and Heroku's 30 s, so the answer is ours.
    "MONGO_REQUEST_TIMEOUT_MS": (4000, 100),
    # Setting the store up (init-db, index builds, the first count): minutes on a large collection.
    "MONGO_MAINTENANCE_TIMEOUT_MS": (3_600_000, 1000),
    "SQLITE_BUSY_TIMEOUT_MS": (5000, 0),
    # How often the periodic jobs (retention) run in each web process.
    "JOBS_INTERVAL_SECONDS": (60, 1),
    "MAX_BUCKETS": (10000, 1),
    "MAX_INFLATED_LENGTH": (16 * 1024 * 1024, 1024),
    "MAX_READING_BYTES": (64 * 1024, 64),
    # A page of GET /readings/ ends early once its readings reach this many
    # bytes (as stored): its memory is bounded whatever their size.
    "PAGE_BYTES": (1024 * 1024, 1024),
    # How far ahead of the server's clock a reading's timestamp may be: a
    # reading from the future would hold its sensor's alerts until then.
    "MAX_FUTURE_SECONDS": (900, 0),
    "AUTH_CACHE_SECONDS": (5, 0),
    "DASHBOARD_REFRESH_SECONDS": (10, 1),
    "QUIET_AFTER_MINUTES": (15, 1),
    # One alert delivery in all (connect, send, the whole answer), and how
    # many targets each process sends to at once.
    "ALERTS_DELIVERY_TIMEOUT_SECONDS": (10, 1),
    "ALERTS_DELIVERY_THREADS": (4, 1),
    # Alert rules in all: each is matched on ingest, and a sensor thousands
    # watch costs as many evaluations a reading.
    "MAX_ALERT_RULES": (10_000, 1),
    # Proxies in front whose X-Forwarded-For/-Proto to trust: Heroku's router
    # is one (Heroku sets DYNO); elsewhere none unless told.
    "FORWARDED_HOPS": (None, 0),
}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# Every environment variable the service reads (gunicorn.conf.py reads HOST,
# PORT and WEB_CONCURRENCY, gunicorn itself GUNICORN_CMD_ARGS; DYNO says the
# service runs on Heroku).
VARIABLES = (
    *MONGO_URI_VARIABLES,
    *INTEGER_SETTINGS,
    "SQLITE_PATH",
    "SQLITE_SYNCHRONOUS",
    "CREATE_INDEXES",
    "READINGS_RETENTION_DAYS",
    "REQUIRE_API_KEYS",
    "ALERTS_ALLOW_LINK_LOCAL",
    "RATE_LIMIT",
    "RATELIMIT_STORAGE_URI",
    "LOG_FORMAT",
    "CORS_ORIGINS",
    "API_KEYS",
    "DYNO",
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
)

# What each setting means, for docs/configuration.md (docs/configuration.py renders
# it): name -> (default as written there, meaning). A default of None is the
# integer one in INTEGER_SETTINGS, with its minimum.
DESCRIPTIONS = {
    "MONGO_URL": (
        "none",
        "MongoDB connection string; the database is the one named in its path (`rest` if none). With "
        "none set, the SQLite store is used. Refused at start, naming the setting, if the driver refuses it "
        "or it asks for `w=0` (writes nobody confirms).",
    ),
    "MONGODB_URI": ("none", "read when `MONGO_URL` is not set (hosted MongoDB add-ons set it)"),
    "MONGO_URI": ("none", "read when neither `MONGO_URL` nor `MONGODB_URI` is set (Flask-PyMongo's name)"),
    "MAX_CONTENT_LENGTH": (None, "largest request body, in bytes"),
    "MAX_BATCH_SIZE": (None, "most readings in one batch"),
    "DEFAULT_PAGE_SIZE": (None, "`GET /readings/` and `GET /sensors/` page size without `limit`"),
    "MAX_PAGE_SIZE": (None, "largest `limit`"),
    "MAX_READING_DEPTH": (
        None,
        "deepest nesting of objects and arrays in a reading (MongoDB's own limit is 100)",
    ),
    "MONGO_TIMEOUT_MS": (
        None,
        "how long one look for the MongoDB server and one connection may take (pymongo's "
        "`serverSelectionTimeoutMS` and `connectTimeoutMS`, over the same options in the URL), and the "
        "key check as a web process starts; a request looks again until `MONGO_REQUEST_TIMEOUT_MS` "
        "runs out, which is what decides its `503`",
    ),
    "MONGO_REQUEST_TIMEOUT_MS": (
        None,
        "the most one request spends on MongoDB in all, retries included, before answering `503` "
        "(MongoDB only: SQLite's waits are bounded by `SQLITE_BUSY_TIMEOUT_MS`) "
        "(each export batch and each job step gets as much; pymongo's `timeoutMS`, over the URL's); "
        "replaces 1.0's `MONGO_SOCKET_TIMEOUT_MS`, which is no longer read",
    ),
    "MONGO_MAINTENANCE_TIMEOUT_MS": (
        None,
        "the most setting the MongoDB store up may take (`init-db`, index builds, the first count of "
        "each sensor's readings): a build cut short is undone, so this is long; a web process does it "
        "in the background, serving meanwhile",
    ),
    "SQLITE_BUSY_TIMEOUT_MS": (
        None,
        "how long a write waits for another process's write before answering `503`",
    ),
    "JOBS_INTERVAL_SECONDS": (
        None,
        "how often each web process runs the periodic jobs (retention, alert checks and deliveries)",
    ),
    "MAX_BUCKETS": (None, "most buckets one `/readings/stats` request may ask for"),
    "MAX_INFLATED_LENGTH": (None, "most a gzip body may inflate to, in bytes"),
    "MAX_READING_BYTES": (None, "largest reading, as JSON, in bytes"),
    "PAGE_BYTES": (
        None,
        "a `GET /readings/` page ends early, before `limit` readings, once its readings reach this "
        "many bytes (as stored, about their size as JSON): it holds one reading at least, and its "
        "`next` link goes on from there",
    ),
    "MAX_FUTURE_SECONDS": (
        None,
        "how far ahead of the server's clock a reading's timestamp may be; one further ahead is "
        "refused (`400`)",
    ),
    "AUTH_CACHE_SECONDS": (None, "how long each process trusts what it learned about keys"),
    "DASHBOARD_REFRESH_SECONDS": (None, "how often the dashboard reloads its data"),
    "QUIET_AFTER_MINUTES": (None, "the dashboard marks a sensor silent this long as quiet"),
    "ALERTS_DELIVERY_TIMEOUT_SECONDS": (
        None,
        "the most one alert delivery takes in all (connecting, sending, the whole answer; a receiver "
        "that answers slowly is cut then); a delivery's claim lasts a minute longer, so no other "
        "process sends it again meanwhile",
    ),
    "ALERTS_DELIVERY_THREADS": (
        None,
        "targets each process sends alerts to at once (one at a time to each target): a slow "
        "receiver holds up only its own notifications while fewer than this many are slow",
    ),
    "MAX_ALERT_RULES": (
        None,
        "most alert rules kept; making one more answers `409` (a sensor watched by many rules costs an "
        "evaluation per rule and reading: see bench/ALERTS.md)",
    ),
    "FORWARDED_HOPS": (
        "`1` on Heroku (where `DYNO` is set), else `0`",
        "proxies in front whose `X-Forwarded-For`/`-Proto` to trust",
    ),
    "SQLITE_PATH": (
        "`instance/readings.sqlite3`",
        "the SQLite file (and its `-wal`, `-shm` companions), made with its folder on first use",
    ),
    "SQLITE_SYNCHRONOUS": (
        "`normal`",
        "`normal`: a committed write survives any process's crash; `full` (or `extra`): it survives a"
        " power cut too, for a disk flush per write",
    ),
    "CREATE_INDEXES": (
        "`1`",
        "set the store up at start-up: MongoDB's indexes and sensor summary (`1`/`true`/`yes`/`on` or"
        " `0`/`false`/`no`/`off`); SQLite's schema is made on first use either way",
    ),
    "READINGS_RETENTION_DAYS": (
        "none",
        "delete readings older than this many days; unset keeps them for ever",
    ),
    "REQUIRE_API_KEYS": ("`0`", "refuse to serve while no key exists, and never run open"),
    "ALERTS_ALLOW_LINK_LOCAL": ("`0`", "let alert targets be link-local or cloud metadata addresses"),
    "RATE_LIMIT": (
        "`600/minute`",
        "per key or client address (several as `10/second;600/minute`); `off` disables",
    ),
    "RATELIMIT_STORAGE_URI": (
        "`memory://`",
        "where rate-limit counters live; `redis://...` to share them between processes",
    ),
    "LOG_FORMAT": ("`text`", "`text` (key=value) or `json` (JSON lines)"),
    "CORS_ORIGINS": ("none", "origins allowed to call from a browser, comma-separated, or `*`"),
    "API_KEYS": ("none", "bootstrap keys, `name:scope:key,...`, each key at least 20 characters"),
    "DYNO": (
        "set by Heroku",
        "on Heroku the service refuses to start without a MongoDB URL (a dyno's disk is wiped at "
        "every restart)",
    ),
    "HOST": (
        "`127.0.0.1`; `0.0.0.0` on Heroku",
        "address gunicorn listens on; `0.0.0.0` lets devices on your network reach the service (turn "
        "API keys on first)",
    ),
    "PORT": ("`5000`", "port gunicorn listens on (Heroku sets it)"),
    "WEB_CONCURRENCY": ("`2`", "gunicorn worker processes, on either store"),
    "GUNICORN_CMD_ARGS": (
        "none",
        "gunicorn's own: any of its settings, over `gunicorn.conf.py`'s (for example `--threads 64`)",
    ),
}


SQLITE_FILE = "readings.sqlite3"  # in the Flask instance folder unless SQLITE_PATH says otherwise
SYNCHRONOUS = ("normal", "full", "extra")


class ConfigError(ValueError):
    """A setting in the environment has a value the service cannot use."""


def mongo_uri(environ: Mapping[str, str]) -> str | None:
    """The MongoDB connection string from the environment, if any; refused (``ConfigError``) if the
    service will not use it (``w=0``, a typo)."""
    name = next((name for name in MONGO_URI_VARIABLES if environ.get(name)), None)
    if name is None:
        return None
    from .stores.mongodb.urls import refusal  # the driver, only for those who use MongoDB

    reason = refusal(environ[name])
    if reason:
        raise ConfigError(f"{name} {reason}")
    return environ[name]


def database_name(uri: str | None) -> str:
    """Return the database named in a MongoDB URI's path, or the default."""
    if not uri:
        return DEFAULT_DATABASE
    path = urlsplit(uri).path.lstrip("/")
    return unquote(path) or DEFAULT_DATABASE


def _integer(environ: Mapping[str, str], name: str, default: int | None, minimum: int) -> int | None:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in TRUE + FALSE:
        raise ConfigError(f"{name} must be one of {', '.join(TRUE + FALSE)}, got {raw!r}")
    return raw in TRUE


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _rate_limit(raw: str) -> str | None:
    raw = raw.strip()
    if raw.lower() in ("", "off", "0", "none"):
        return None
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"RATE_LIMIT must be like 600/minute or 10/second;100/hour, got {raw!r}") from None
    return raw


def from_env(environ: Mapping[str, str] = os.environ) -> dict:
    """Build the application's settings from environment variables."""
    uri = mongo_uri(environ)
    if environ.get("DYNO") and not uri:
        # A dyno's disk is wiped on every restart: a SQLite file there loses everything.
        raise ConfigError(
            "on Heroku (DYNO is set) readings need MongoDB: set MONGO_URL to a MongoDB "
            "connection string (a dyno's own disk is wiped at every restart)"
        )
    settings = {
        "MONGO_URI": uri,
        "MONGO_DBNAME": database_name(uri),
        "SQLITE_PATH": environ.get("SQLITE_PATH") or None,
        "SQLITE_SYNCHRONOUS": _choice(environ, "SQLITE_SYNCHRONOUS", SYNCHRONOUS),
        "CREATE_INDEXES": _flag(environ, "CREATE_INDEXES", True),
        "READINGS_RETENTION_DAYS": _integer(environ, "READINGS_RETENTION_DAYS", None, 1),
        "REQUIRE_API_KEYS": _flag(environ, "REQUIRE_API_KEYS", False),
        "ALERTS_ALLOW_LINK_LOCAL": _flag(environ, "ALERTS_ALLOW_LINK_LOCAL", False),
        "RATE_LIMIT": _rate_limit(environ.get("RATE_LIMIT", "600/minute")),
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        "LOG_FORMAT": _choice(environ, "LOG_FORMAT", ("text", "json")),
        "CORS_ORIGINS": [
            origin.strip() for origin in environ.get("CORS_ORIGINS", "").split(",") if origin.strip()
        ],
    }
    try:
        settings["API_KEYS"] = parse_env_keys(environ.get("API_KEYS", ""))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    for name, (default, minimum) in INTEGER_SETTINGS.items():
        settings[name] = _integer(environ, name, default, minimum)
    if settings["FORWARDED_HOPS"] is None:
        settings["FORWARDED_HOPS"] = 1 if environ.get("DYNO") else 0
    return settings
