"""The alert resources: rules (admin scope), their events, and the alerts now.

A rule is shown with its targets masked (scheme and host only) and its
webhook secret left out: the secret is shown once, when the rule is made.
"""

import secrets

from bson import ObjectId
from flask import current_app, request
from flask_restful import Resource

from .. import bodies, queries
from ..bsonvalues import utc_now
from ..errors import ApiError
from . import targets
from .rules import CONDITION, clean_rule, describe, duration_text, watches

SECRET_PREFIX = "whsec_"
EVENTS_LIMIT = 100


def _alerts():
    return current_app.extensions["store"].alerts


def _engine():
    return current_app.extensions["alerts"]


def public(rule: dict) -> dict:
    """A stored rule as the API shows it."""
    shown = {"_id": rule["_id"], "name": rule["name"], "kind": rule["kind"]}
    shown.update((key, rule[key]) for key in ("sensor", "sensor_prefix") if key in rule)
    if rule["kind"] == "threshold":
        shown["field"] = rule["field"]
        shown.update((key, rule[key]) for key in ("above", "below") if rule.get(key) is not None)
        shown["hysteresis"] = rule["hysteresis"]
    shown["for"] = duration_text(rule["for_seconds"]) if rule["for_seconds"] else None
    shown["condition"] = describe(rule)
    shown["notify"] = [targets.shown(url) for url in rule["notify"]]
    shown.update(enabled=rule["enabled"], created=rule["created"], updated=rule["updated"])
    return shown


def _as_input(rule: dict) -> dict:
    """A stored rule in the words of a rule body, to apply a patch to."""
    given = {
        key: rule[key]
        for key in ("name", "kind", "sensor", "sensor_prefix", "notify", "enabled")
        if key in rule
    }
    if rule["kind"] == "threshold":
        given.update(
            (key, rule[key]) for key in ("field", "hysteresis", "above", "below") if rule.get(key) is not None
        )
    if rule["for_seconds"]:
        given["for"] = duration_text(rule["for_seconds"])
    return given


def create(body) -> dict:
    """Validate and store a new rule (POST /rules/, ``rules create``); return it shown, with its secret."""
    clean = clean_rule(body, current_app.config["ALERTS_ALLOW_LINK_LOCAL"])
    now = utc_now()
    secret = SECRET_PREFIX + secrets.token_urlsafe(24)
    rule = {"_id": ObjectId(), **clean, "secret": secret, "created": now, "updated": now}
    limit = current_app.config["MAX_ALERT_RULES"]
    if not _alerts().add_rule(rule, limit):
        raise ApiError(
            f"the rules are at their cap ({limit}, MAX_ALERT_RULES); delete one to make another",
            status=409,
        )
    _engine().invalidate()
    return {**public(rule), "secret": secret}


def _found(oid: ObjectId) -> dict:
    rule = _alerts().get_rule(oid)
    if rule is None:
        raise ApiError(f"no rule with id {oid}", status=404)
    return rule


class RuleList(Resource):
    """Every alert rule; add one."""

    def get(self):
        """List the rules, oldest first."""
        queries.parse_nothing(request.args)
        return [public(rule) for rule in _alerts().rules()]

    def post(self):
        """Make a rule; its webhook secret is in this answer and never again."""
        queries.parse_nothing(request.args)
        made = create(bodies.read_json())
        return made, 201, {"Location": f"{request.script_root}/rules/{made['_id']}"}


class Rule(Resource):
    """One alert rule."""

    def get(self, id: ObjectId):
        """Show a rule."""
        return public(_found(id))

    def patch(self, id: ObjectId):
        """Change some of a rule's fields (``notify``, if given, is replaced whole)."""
        current = _found(id)
        body = bodies.read_json(bodies.JSON, "application/merge-patch+json")
        clean = clean_rule(body, current_app.config["ALERTS_ALLOW_LINK_LOCAL"], current=_as_input(current))
        rule = {
            **clean,
            "secret": current["secret"],
            "created": current["created"],
            "updated": utc_now(),
        }
        if not _alerts().replace_rule(id, rule):
            _found(id)
        if any(rule.get(key) != current.get(key) for key in CONDITION):
            # It watches something else now: its alerts start afresh, without notifying.
            _alerts().restart_states(id)
        _engine().invalidate()
        return public({"_id": id, **rule})

    def delete(self, id: ObjectId):
        """Delete a rule, its states and its history."""
        if not _alerts().delete_rule(id):
            _found(id)
        _engine().invalidate()
        response = current_app.response_class(status=204)
        del response.headers["Content-Type"]
        return response


class RuleEvents(Resource):
    """What a rule did: its transitions, newest first, and how each notification went."""

    def get(self, id: ObjectId):
        """List a rule's events (``limit``, default 100)."""
        values = queries.parse_limit(request.args, EVENTS_LIMIT, EVENTS_LIMIT)
        _found(id)
        return [
            {key: value for key, value in event.items() if key != "rule"}
            for event in _alerts().events(id, values)
        ]


class AlertList(Resource):
    """The alerts now: every rule and sensor not ok, firing first."""

    def get(self):
        """List what is firing and pending (read scope, for dashboards)."""
        queries.parse_nothing(request.args)
        rules = {rule["_id"]: rule for rule in _alerts().rules() if rule["enabled"]}
        now = [
            {
                "rule": _summary(rules[rule_id]),
                "sensor": sensor,
                "state": state.state,
                "since": state.since,
                "value": state.value if rules[rule_id]["kind"] == "threshold" else None,
            }
            for rule_id, sensor, state in _alerts().states()
            if rule_id in rules and state.state != "ok" and watches(rules[rule_id], sensor)
        ]
        return sorted(
            now, key=lambda alert: (alert["state"] != "firing", alert["sensor"], alert["rule"]["name"])
        )


def _summary(rule: dict) -> dict:
    """What a dashboard needs of a rule: no targets, but the limit a chart can draw."""
    summary = {"_id": rule["_id"], "name": rule["name"], "kind": rule["kind"], "condition": describe(rule)}
    if rule["kind"] == "threshold":
        summary["field"] = rule["field"]
        summary.update((side, rule[side]) for side in ("above", "below") if rule.get(side) is not None)
    return summary
