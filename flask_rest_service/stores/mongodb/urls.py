"""What a MongoDB connection string must be before the service uses it, checked once for every caller.

The settings (``MONGO_URL`` and its other names) and ``copy-to``/``copy-from``
both ask ``refusal``; neither opens a connection nor resolves a name.
"""

import re
import warnings
from urllib.parse import parse_qsl, urlsplit

from pymongo import MongoClient
from pymongo.errors import ConfigurationError, InvalidURI

SCHEMES = ("mongodb://", "mongodb+srv://")
# What a password may span, taken generously: from the first ':' after '//'
# (or the start) to the last '@'. Only what the driver splits a URL on is kept
# when a URL is checked with its password hidden, so it splits the same way.
USERINFO = re.compile(r"^(?:[^/]*//)?(?P<user>[^:@]*):(?P<password>.*)@")
SPLITS_ON = r"/?#@:\[\],;&=. $\"\\"
UNACKNOWLEDGED = (
    "asks for w=0: MongoDB would confirm no write, so an acknowledged reading could be lost; "
    "remove w=0 (the default is w=majority on a replica set)"
)


def masked(text: str) -> str:
    """``text`` with whatever may be a password in it shown as ``****``."""
    found = USERINFO.match(text)
    return text[: found.start("password")] + "****" + text[found.end("password") :] if found else text


def refusal(url: str) -> str | None:
    """Why the service will not use this connection string, or None.

    The reason follows the string's name (``MONGO_URL is not ...``) and never
    holds a password.

    The driver itself checks it: ``MongoClient(connect=False)`` parses a
    ``mongodb+srv://`` URL without resolving it (``parse_uri`` would look its
    records up). It checks a copy whose password is hidden (its messages quote
    parts of the URL), with every character it splits on kept in place.
    An unknown or deprecated option, which the driver only warns about, is
    refused: the service should not run on a misspelt ``retryWrites``. And
    ``w=0``: every write would be a 201 that nobody confirmed, and a resend
    could never be told apart.
    """
    if not url.startswith(SCHEMES):
        return "is not a MongoDB connection string: it starts with mongodb:// or mongodb+srv://"
    checked, found = url, USERINFO.match(url)
    if found:
        hidden = re.sub(rf"(%[0-9A-Fa-f]{{2}}|[^%{re.escape(SPLITS_ON)}])+", "****", found["password"])
        checked = url[: found.start("password")] + hidden + url[found.end("password") :]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            MongoClient(checked, connect=False).close()
    except (InvalidURI, ConfigurationError, Warning, ValueError) as error:
        return "is not a connection string the driver accepts: " + " ".join(str(error).split())
    options = {key.lower(): value.strip() for key, value in parse_qsl(urlsplit(url).query)}
    if options.get("w") == "0":
        return UNACKNOWLEDGED
    return None
