"""Send one notification: a signed webhook of the service's own, or an Apprise URL.

Webhook body (``Content-Type: application/json``), for ``firing`` and for
``resolved``::

    {"event": "<rule>:<sensor>:<n>", "transition": "firing", "state": "firing",
     "rule": {"id": "...", "name": "greenhouse too cold", "kind": "threshold",
              "condition": "value below 5 for 10m"},
     "sensor": "greenhouse", "value": 4.2, "reading_at": "2026-03-01T10:10:00Z",
     "at": "2026-03-01T10:10:01.250Z", "sent_at": "2026-03-01T10:10:01.300Z"}

Headers: ``X-Readings-Event`` (the event id: the same on every retry, so a
receiver can drop repeats) and ``X-Readings-Signature: sha256=<hex>``, the
HMAC-SHA256 of the body's exact bytes with the rule's secret. Redirects are
not followed (one could lead to an address the check below refuses), and
only a 2xx answer counts as delivered.

Every send, webhook or Apprise, has one deadline for all of it (connecting,
sending, the whole answer): ``targets.guarded`` cuts its connections then, so
a receiver that answers a byte at a time costs that long and no longer.
"""

import hashlib
import hmac
import http.client
import urllib.error
import urllib.request

import apprise
import orjson

from ..extjson import iso_utc
from . import targets
from .rules import describe

SIGNATURE_HEADER = "X-Readings-Signature"
EVENT_HEADER = "X-Readings-Event"


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(rule: dict, event: dict, sent_at) -> dict:
    """The webhook's JSON body."""
    reading_at = event.get("reading_at")
    return {
        "event": event["_id"],
        "transition": event["transition"],
        "state": event["state"],
        "rule": {
            "id": str(rule["_id"]),
            "name": rule["name"],
            "kind": rule["kind"],
            "condition": describe(rule),
        },
        "sensor": event["sensor"],
        "value": event.get("value"),
        "reading_at": iso_utc(reading_at) if reading_at else None,
        "at": iso_utc(event["at"]),
        "sent_at": iso_utc(sent_at),
    }


def title(rule: dict, event: dict) -> str:
    """One line for chat and mail: what happened to which sensor."""
    word = "FIRING" if event["transition"] == "firing" else "RESOLVED"
    value = (
        f" (value {event['value']})" if event.get("value") is not None and rule["kind"] == "threshold" else ""
    )
    return f"{word}: {rule['name']}: {event['sensor']}, {describe(rule)}{value}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is then an HTTPError: not delivered


_opener = urllib.request.build_opener(_NoRedirects)


def send(
    url: str,
    rule: dict,
    event: dict,
    sent_at,
    allow_link_local: bool,
    timeout: float,
) -> str | None:
    """Deliver one notification within ``timeout`` seconds in all; None if it was, else why not.

    Every connection made meanwhile, by this module or by Apprise, to a
    link-local or metadata address is refused as it is made, and every one is
    cut when the time is up (``targets.guarded``).
    """
    with targets.guarded(allow_link_local, timeout) as guard:
        try:
            failure = (
                _webhook(url, rule, event, sent_at, timeout)
                if targets.is_webhook(url)
                else _apprise(url, rule, event)
            )
        except Exception as error:  # a target no sender foresaw: recorded, never raised into the loop
            failure = f"{type(error).__name__}"
    if guard.refused:
        return f"refused: the target connects to {guard.refused}, a link-local or metadata address"
    if guard.expired and failure is not None:
        return f"timed out: no whole answer within {timeout:g} s"
    return failure


def _webhook(url: str, rule: dict, event: dict, sent_at, timeout: float) -> str | None:
    body = orjson.dumps(payload(rule, event, sent_at))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sensor-readings",
        EVENT_HEADER: event["_id"],
        SIGNATURE_HEADER: signature(rule["secret"], body),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        # The socket's timeout bounds each step; guarded() bounds them all together.
        with _opener.open(request, timeout=timeout) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as error:
        error.close()
        return f"HTTP {error.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        return f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    return None


def _apprise(url: str, rule: dict, event: dict) -> str | None:
    # The target's own plugin, so that it sends in this thread, where
    # targets.guarded refuses what it must (Apprise().notify sends from a
    # worker thread of its own, even with async_mode off).
    notifier = apprise.Apprise.instantiate(url)
    if notifier is None:
        return "not a URL Apprise can notify"
    kind = apprise.NotifyType.FAILURE if event["transition"] == "firing" else apprise.NotifyType.SUCCESS
    text = f"{title(rule, event)}\nat {iso_utc(event['at'])}"
    if notifier.notify(title=title(rule, event), body=text, notify_type=kind):
        return None
    return "Apprise could not deliver it (its log says why)"
