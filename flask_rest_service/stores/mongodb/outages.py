"""Driver errors that mean the database is away: ``StoreUnavailable`` (a 503), not a bug."""

import functools
import re

from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    OperationFailure,
    WriteConcernError,
)

from ..base import (
    StoreUnavailable,
)

# A user and password, wherever a message might quote a connection string.
CREDENTIALS = re.compile(r"[^\s/@:]+:[^\s/@]*@")
DUPLICATE_KEY = 11000
NOT_CONFIRMED = "the database did not confirm the write; send it again (with the same _id it is stored once)"
# Server error codes that mean the database is away, busy or refusing this
# client just now (a step-down, a shutdown, a time limit, a lock or a plan
# killed by a concurrent change, the server shedding load, credentials or
# rights the deployment must fix), never that a query is wrong. So are the
# errors the server labels as worth retrying.
OUTAGE_LABELS = ("RetryableWriteError", "SystemOverloadedError")
OUTAGE_CODES = {
    6: "HostUnreachable",
    7: "HostNotFound",
    13: "Unauthorized",
    18: "AuthenticationFailed",
    24: "LockTimeout",
    43: "CursorNotFound",
    46: "LockBusy",
    50: "MaxTimeMSExpired",
    89: "NetworkTimeout",
    91: "ShutdownInProgress",
    175: "QueryPlanKilled",
    189: "PrimarySteppedDown",
    202: "NetworkInterfaceExceededTimeLimit",
    262: "ExceededTimeLimit",
    279: "ClientDisconnect",
    462: "IngressRequestRateLimitExceeded",
    8000: "AtlasError",
    9001: "SocketException",
    10107: "NotWritablePrimary",
    11600: "InterruptedAtShutdown",
    11601: "Interrupted",
    11602: "InterruptedDueToReplStateChange",
    13435: "NotPrimaryNoSecondaryOk",
    13436: "NotPrimaryOrSecondary",
}


def _unavailable(error: Exception) -> StoreUnavailable | None:
    """The outage a driver error means (503), or None if it is not one (a bug: 500).

    A write concern error means the write was applied where it was sent but
    not confirmed as ``w`` asks: not stored as far as the client can know, so
    a 503; the client resends with the same ``_id``, which stores it once.
    Anything that timed out (``timeoutMS``, ``maxTimeMS``, a socket), any
    connection or DNS failure (``ConfigurationError`` when an SRV name does
    not resolve at the first operation) and the codes above are outages.
    """
    why = type(error).__name__
    if isinstance(error, OperationFailure) and error.code is not None:
        name = OUTAGE_CODES.get(error.code) or (error.details or {}).get("codeName", "")
        why = f"{why} {error.code} {name}".rstrip()
    why = f"{why}: {cause(error)}"
    if isinstance(error, BulkWriteError):
        # Documents refused one by one because the server stepped down (or
        # another outage) mid-batch: the rest may be stored, so resend.
        codes = {item["code"] for item in error.details.get("writeErrors", [])} - {DUPLICATE_KEY}
        stopped = bool(codes) and codes <= OUTAGE_CODES.keys()
        return (
            StoreUnavailable(NOT_CONFIRMED, why)
            if error.details.get("writeConcernErrors") or stopped
            else None
        )
    if isinstance(error, WriteConcernError):
        return StoreUnavailable(NOT_CONFIRMED, why)
    if getattr(error, "timeout", False) or isinstance(error, ConnectionFailure | ConfigurationError):
        return StoreUnavailable(why=why)
    if isinstance(error, OperationFailure) and (
        error.code in OUTAGE_CODES or any(error.has_error_label(label) for label in OUTAGE_LABELS)
    ):
        return StoreUnavailable(why=why)
    return None


def cause(error: Exception) -> str:
    """The driver's own words, for the log: each server's host, port and what failed, no password.

    A failed server selection says, for each server it tried, ``host:port:
    what failed`` (refused, a TLS handshake or an IP access list, a wire
    version too old) before its timeouts and topology, which add nothing.
    """
    text = " ".join(str(error).split())
    text = re.split(r", Timeout: |, full error: | \(configured timeouts: ", text)[0]
    return CREDENTIALS.sub("****@", text)[:500]


def _outages(cls):
    """Turn driver errors that mean an outage into ``StoreUnavailable`` in every method.

    It changes the class: apply it once, where the class is defined. (A
    generator's errors would escape it, raised as it is iterated: the store
    has none, exports are batches of plain calls.)
    """
    for name, method in list(vars(cls).items()):
        if not name.startswith("__") and callable(method):
            setattr(cls, name, _translated(method))
    return cls


def _translated(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as error:
            outage = _unavailable(error)
            if outage is None:
                raise
            raise outage from error

    return call
