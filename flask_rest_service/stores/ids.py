"""New reading ids that no client can predict.

An ObjectId is 4 bytes of time, 5 bytes drawn once per process and a
3-byte counter (``bson.ObjectId()``): every id a process hands out shows
the next ones, and a write key could store readings under them first. Here
the 5 bytes and the counter's start are drawn afresh for every batch, so
the next request's ids cannot be guessed (40 bits and more), while the
ids of one batch still increase in its order, as the readings' order by
``(timestamp, _id)`` wants for readings timed alike. A store still retries
an id that meets one stored already: it never answers "already stored" to
a reading that came without an ``_id``.
"""

import os
import time

from bson import ObjectId

COUNTER = 1 << 24


def new(count: int) -> list[ObjectId]:
    """``count`` new ObjectIds, increasing, unpredictable from any id handed out before."""
    drawn = os.urandom(8)
    prefix = int(time.time()).to_bytes(4, "big") + drawn[:5]
    start = int.from_bytes(drawn[5:], "big") % max(1, COUNTER - count)
    return [ObjectId(prefix + (start + i).to_bytes(3, "big")) for i in range(count)]
