"""Alert rules: what a rule body may say, turned into a clean rule (no I/O).

Two kinds, each naming one sensor (``sensor``) or every sensor whose name
starts with a prefix (``sensor_prefix``; ``""`` is every sensor):

- ``threshold``: a numeric field (``field``, default ``value``) ``above`` or
  ``below`` a limit, optionally for a while (``for``: "above -10 for 5
  minutes") and with a ``hysteresis``: a firing alert resolves only once the
  value is back past the limit by that much, so a value hovering at the limit
  does not flap;
- ``quiet``: no reading from the sensor for ``for`` (InfluxDB's deadman).

``notify`` lists where to say so: plain ``https://`` (or ``http://``) URLs
are webhooks the service signs itself; any other URL is Apprise's
(``ntfys://``, ``slack://``, ``discord://``, ``mailto://``, ``tgram://``,
``json://``, ...).
"""

from typing import Any

from .. import validation
from ..bounds import DURATION_UNITS, MAX_LABEL_LENGTH, MAX_RULE_DURATION_SECONDS, MAX_TARGETS, RULE_KINDS
from ..bsonvalues import INT64_MAX, INT64_MIN, is_number
from ..errors import ValidationError
from ..schemas import required_rule_fields, rule_fields
from ..validation import Problems
from . import targets

# The fields, kinds and limits are the schema's (schemas.RuleInput, which the
# OpenAPI document shows); what one field says about another is checked here.
KINDS = RULE_KINDS
FIELDS = set(rule_fields())
REQUIRED = required_rule_fields()  # every other field has a default, or null (either of a pair)
MAX_DURATION_SECONDS = MAX_RULE_DURATION_SECONDS
# What a rule watches and when it fires: changing any of it starts its alerts afresh.
CONDITION = ("kind", "sensor", "sensor_prefix", "field", "above", "below", "for_seconds", "hysteresis")


def parse_duration(raw: Any) -> int:
    """Seconds in a rule's duration (``10m``), at most 366 days; ValueError if it is not one."""
    seconds = validation.parse_duration(raw)
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("must be at most 366 days")
    return seconds


def duration_text(seconds: int) -> str:
    """The shortest duration text for a number of seconds (``600`` -> ``10m``)."""
    for unit in "wdhm":
        if seconds and seconds % DURATION_UNITS[unit] == 0:
            return f"{seconds // DURATION_UNITS[unit]}{unit}"
    return f"{seconds}s"


def watches(rule: dict, sensor: str) -> bool:
    """Whether a rule is about a sensor."""
    return rule["sensor"] == sensor if "sensor" in rule else sensor.startswith(rule["sensor_prefix"])


def describe(rule: dict) -> str:
    """A rule in words: ``value below 5 for 10m``, ``quiet for 30m``."""
    if rule["kind"] == "quiet":
        return f"no reading for {duration_text(rule['for_seconds'])}"
    side = "above" if rule.get("above") is not None else "below"
    text = f"{rule['field']} {side} {rule[side]}"
    if rule["for_seconds"]:
        text += f" for {duration_text(rule['for_seconds'])}"
    return text


def _fits(number: int | float) -> bool:
    """What BSON can store: a double, or an integer of 64 bits."""
    return number.__class__ is float or INT64_MIN <= number <= INT64_MAX


def clean_rule(raw: Any, allow_link_local: bool = False, current: dict | None = None) -> dict:
    """Validate a rule body (a whole rule, or with ``current`` the changes to it); return the rule.

    Every problem is listed at once; the answer never holds a target's
    secrets, only its place in ``notify``.
    """
    if not isinstance(raw, dict):
        raise ValidationError([{"field": "", "detail": "a rule must be a JSON object"}], "the rule")
    errors = Problems()
    for name in sorted(set(raw) - FIELDS):
        errors.add({"field": name, "detail": f"unknown field; a rule has {', '.join(sorted(FIELDS))}"})
    # A null is a field not given; in a patch it removes the field (RFC 7396,
    # JSON merge patch), which so goes back to its default: "for": null is at
    # once again, "hysteresis": null is 0.
    given = {key: value for key, value in raw.items() if value is not None}
    merged = {key: value for key, value in (current or {}).items() if key not in raw} | given
    if "sensor" in given and "sensor_prefix" not in raw:
        merged.pop("sensor_prefix", None)
    if "sensor_prefix" in given and "sensor" not in raw:
        merged.pop("sensor", None)
    rule: dict = {}
    name = merged.get("name")
    if not (isinstance(name, str) and 0 < len(name) <= MAX_LABEL_LENGTH):
        errors.add({"field": "name", "detail": f"required: a string of 1 to {MAX_LABEL_LENGTH} characters"})
    rule["name"] = name
    kind = merged.get("kind")
    if kind not in KINDS:
        errors.add({"field": "kind", "detail": f"required: one of {', '.join(KINDS)}"})
    rule["kind"] = kind
    _which_sensors(merged, rule, errors)
    try:
        rule["for_seconds"] = parse_duration(merged["for"]) if "for" in merged else 0
    except ValueError as error:
        errors.add({"field": "for", "detail": str(error)})
    if kind == "quiet":
        if not rule.get("for_seconds"):
            errors.add({"field": "for", "detail": "required for a quiet rule: how long without a reading"})
        for field in ("field", "above", "below", "hysteresis"):
            if field in given:
                errors.add({"field": field, "detail": "a quiet rule has none"})
    elif kind == "threshold":
        _threshold(merged, rule, errors)
    rule["notify"] = _notify(merged.get("notify"), allow_link_local, errors)
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add({"field": "enabled", "detail": "must be true or false"})
    rule["enabled"] = enabled
    errors.raise_if_any("the rule")
    return rule


def _which_sensors(merged: dict, rule: dict, errors: Problems) -> None:
    sensor, prefix = merged.get("sensor"), merged.get("sensor_prefix")
    if (sensor is None) == (prefix is None):
        errors.add(
            {
                "field": "sensor",
                "detail": 'give either sensor (one) or sensor_prefix (every sensor it starts; "" for all)',
            }
        )
    elif sensor is not None:
        if not (isinstance(sensor, str) and 0 < len(sensor) <= MAX_LABEL_LENGTH):
            errors.add(
                {"field": "sensor", "detail": f"must be a string of 1 to {MAX_LABEL_LENGTH} characters"}
            )
        rule["sensor"] = sensor
    else:
        if not (isinstance(prefix, str) and len(prefix) <= MAX_LABEL_LENGTH):
            errors.add(
                {
                    "field": "sensor_prefix",
                    "detail": f"must be a string of at most {MAX_LABEL_LENGTH} characters",
                }
            )
        rule["sensor_prefix"] = prefix


def _threshold(merged: dict, rule: dict, errors: Problems) -> None:
    field = merged.get("field", "value")
    try:
        validation.parse_field_path(field)
    except ValueError as error:
        errors.add({"field": "field", "detail": str(error)})
    rule["field"] = field
    sides = [side for side in ("above", "below") if merged.get(side) is not None]
    if len(sides) != 1:
        errors.add({"field": "above", "detail": "a threshold rule has exactly one of above and below"})
    for side in sides:
        if not is_number(merged[side]):
            errors.add({"field": side, "detail": "must be a number"})
        elif not _fits(merged[side]):
            errors.add({"field": side, "detail": "integers must fit in 64 bits"})
        rule[side] = merged[side]
    hysteresis = merged.get("hysteresis", 0)
    if not is_number(hysteresis) or hysteresis < 0:
        errors.add({"field": "hysteresis", "detail": "must be a number, 0 or more"})
    elif not _fits(hysteresis):
        errors.add({"field": "hysteresis", "detail": "integers must fit in 64 bits"})
    rule["hysteresis"] = hysteresis


def _notify(raw: Any, allow_link_local: bool, errors: Problems) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_TARGETS:
        errors.add({"field": "notify", "detail": f"must be a list of at most {MAX_TARGETS} URLs"})
        return []
    for index, url in enumerate(raw):
        problem = targets.problem(url, allow_link_local)
        if problem:
            errors.add({"field": f"notify.{index}", "detail": problem})
    return list(raw)
