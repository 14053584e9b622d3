"""The dashboard's overview: a page of sensors, each with its day as hourly averages, in one answer.

What the dashboard asked for with one ``/readings/stats`` request per sensor
(a request per sensor per refresh, through the key's rate limit) is here one
request for a page of sensors; the page size is capped (bounds), so is the
work of one request.
"""

import math
from datetime import datetime, timedelta

from .bounds import OVERVIEW_HOURS
from .bsonvalues import epoch_millis, is_number
from .stores.base import Filters, Readings, StatsQuery

HOUR_MS = 3600 * 1000
FIELD, INTERVAL = "value", "1h"


def overview(readings: Readings, sensors: list[dict], since: datetime, until: datetime) -> dict:
    """The window and each sensor's summary with ``averages``: its hours' figures, None where empty."""
    return {
        "field": FIELD,
        "interval": INTERVAL,
        "since": since,
        "until": until,
        "sensors": [{**entry, "averages": hourly(readings, entry["sensor"], since)} for entry in sensors],
    }


def hourly(readings: Readings, sensor: str, since: datetime) -> list:
    """The figure of each of the OVERVIEW_HOURS hours from ``since`` (aligned to the hour)."""
    until = since + timedelta(hours=OVERVIEW_HOURS)
    query = StatsQuery(Filters(sensor, None, since, until), FIELD, INTERVAL, HOUR_MS, "none")
    found = {epoch_millis(bucket["start"]): bucket for bucket in readings.stats(query)}
    start = epoch_millis(since)
    return [figure(found.get(start + hour * HOUR_MS)) for hour in range(OVERVIEW_HOURS)]


def figure(bucket: dict | None):
    """A bucket's figure: its average, or the middle of its range when the sum left a double's."""
    if bucket is None or not bucket["count"]:
        return None
    average = bucket["avg"]
    if is_number(average) and math.isfinite(average):
        return average
    low, high = bucket["min"], bucket["max"]
    return low / 2 + high / 2 if is_number(low) and is_number(high) else None
