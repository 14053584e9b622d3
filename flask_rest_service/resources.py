"""The REST resources and the URL map.

Each method parses its input (validation, bodies), calls the store
(readings) and returns ``(body, status, headers)``.
"""

from datetime import timedelta
from itertools import chain
from urllib.parse import urlencode

from bson import ObjectId
from flask import current_app, g, request
from flask_restful import Resource

from . import bodies, export, ingest, openapi, overview, queries, validation
from .alerts import resources as alerts
from .bsonvalues import EPOCH, epoch_millis, utc_now
from .errors import RETRY_AFTER_SECONDS, ApiError
from .ingest import CONFLICT_PROBLEM, limits, store
from .stores import Position, StoreUnavailable
from .stores.base import STATISTICS, Conflict

RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class Root(Resource):
    """The health check."""

    def get(self):
        """Report the service's state after pinging the database."""
        database = current_app.extensions["store"]
        health = {"store": database.kind, "database": database.name, "version": current_app.config["VERSION"]}
        try:
            database.ping()
            health["auth"] = "open" if current_app.extensions["guard"].is_open() else "keys"
        except StoreUnavailable as error:
            current_app.logger.warning("health check: the database cannot be reached (%s)", error.reason())
            detail = "the database cannot be reached"
            raise ApiError(detail, status=503, extra=health, headers=RETRY) from None
        return {"status": "OK", **health}


class OpenApiDocument(Resource):
    """The OpenAPI document of this service."""

    def get(self):
        """Return the OpenAPI 3.1 document."""
        extensions = current_app.extensions
        if "openapi" not in extensions:
            extensions["openapi"] = openapi.build(current_app)
        return extensions["openapi"]


class ReadingList(Resource):
    """All readings: list newest first, or add some."""

    def get(self):
        """List readings, one keyset page at a time."""
        config = current_app.config
        query = queries.parse_list_query(request.args, config["DEFAULT_PAGE_SIZE"], config["MAX_PAGE_SIZE"])
        found, more = store().page(query, config["PAGE_BYTES"])
        headers = {}
        if more:
            args = {k: v for k, v in request.args.items() if k != "cursor"}
            args["cursor"] = queries.encode_cursor(Position.of(found[-1]))
            headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
        return found, 200, headers

    def post(self):
        """Store one reading or a batch (with ?partial=true, every valid item of it)."""
        partial = queries.parse_post_query(request.args)
        payload = bodies.read_json_or_form()
        if partial:
            return _store_partial(payload if isinstance(payload, list) else [payload]), 207
        readings = validation.clean_readings(payload, utc_now(), limits())
        try:
            stored = ingest.insert(readings)
        except Conflict as conflict:
            raise _conflict(readings, conflict, isinstance(payload, list)) from None
        g.readings = len(stored)  # for the request's log line
        if isinstance(payload, list):
            return [doc for doc, _ in stored], 201
        doc, created = stored[0]
        location = f"{request.script_root}/readings/{doc['_id']}"  # not url_for: bench/NOTES.md
        return doc, 201 if created else 200, {"Location": location}

    def delete(self):
        """Delete the readings older than ``until`` (of a sensor, a type, since ...)."""
        filters = queries.parse_delete_query(request.args)
        deleted = store().delete_matching(filters)
        _restate(lambda alerts: alerts.on_deleted(filters))
        return {"deleted": deleted}


class ReadingStats(Resource):
    """Downsampled statistics of one sensor's numeric field."""

    def get(self):
        """Aggregate into interval buckets; with fill=null, empty buckets too."""
        config = current_app.config
        query = queries.parse_stats_query(request.args, utc_now(), config["MAX_BUCKETS"])
        buckets = store().stats(query)
        if query.fill == "null":
            buckets = _fill(buckets, query)
        filters = query.filters
        return {
            "sensor": filters.sensor,
            "type": filters.type,
            "field": query.field,
            "interval": query.interval,
            "since": filters.since,
            "until": filters.until,
            "fill": query.fill,
            "buckets": buckets,
        }


class ReadingExport(Resource):
    """Every matching reading as a CSV or NDJSON file, streamed."""

    def get(self):
        """Stream the readings, oldest first."""
        query = queries.parse_export_query(request.args)
        batches = store().export_batches(query.filters)
        # Run the query before the first byte: a database error is then a 503
        # rather than a file cut short.
        first = next(batches, None)
        batches = chain([first], batches) if first is not None else iter(())
        lines = export.csv_batches(batches) if query.format == "csv" else export.ndjson_batches(batches)
        response = current_app.response_class(lines, content_type=export.MEDIA_TYPES[query.format])
        response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(query)}"'
        return response


class SensorList(Resource):
    """The sensors that have readings, by name."""

    def get(self):
        """Summarise a page of sensors: count, first, last and its latest reading."""
        config = current_app.config
        query = queries.parse_sensor_query(request.args, config["DEFAULT_PAGE_SIZE"], config["MAX_PAGE_SIZE"])
        return _sensor_page(query)


class SensorOverview(Resource):
    """The dashboard's overview: a page of sensors, each with its last 24 hours."""

    def get(self):
        """Summarise a page of sensors, each with its hourly averages of the window."""
        query = queries.parse_overview_query(request.args, utc_now())
        found, status, headers = _sensor_page(query.sensors)
        return overview.overview(store(), found, query.since, query.until), status, headers


def _sensor_page(query: queries.SensorQuery) -> tuple[list[dict], int, dict]:
    """A page of sensors, and the Link to the next when there is one."""
    found = store().sensors(query.after, query.limit + 1, query.prefix)
    headers = {}
    if len(found) > query.limit:
        found = found[: query.limit]
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = queries.encode_sensor_cursor(found[-1]["sensor"])
        headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return found, 200, headers


class SensorLatest(Resource):
    """The newest reading of one sensor."""

    def get(self, sensor: str):
        """Return the newest reading (of ``type``, if given)."""
        filters = queries.parse_type_query(request.args)
        reading = store().latest(sensor, filters.type)
        if reading is None:
            raise ApiError(f"sensor {sensor!r} has no readings", status=404)
        return reading


class Reading(Resource):
    """One reading, by id."""

    def get(self, id: ObjectId):
        """Return one reading."""
        return _found(store().get(id), id)

    def put(self, id: ObjectId):
        """Replace a reading; the id stays."""
        reading = validation.clean_replacement(bodies.read_json(), id, utc_now(), limits())
        before = store().get(id)
        after = _found(store().replace(id, reading), id)
        _restate(lambda alerts: alerts.on_changed(_sensors(before, after)))
        return after

    def patch(self, id: ObjectId):
        """Set or remove (with null) top-level fields of a reading."""
        body = bodies.read_json(bodies.JSON, "application/merge-patch+json")
        changes, removals = validation.clean_patch(body, id, limits(), utc_now())
        before = store().get(id)
        after = _found(store().update(id, changes, removals), id)
        _restate(lambda alerts: alerts.on_changed(_sensors(before, after)))
        return after

    def delete(self, id: ObjectId):
        """Delete a reading."""
        before = store().get(id)
        if not store().delete(id):
            _found(None, id)
        _restate(lambda alerts: alerts.on_changed(_sensors(before)))
        response = current_app.response_class(status=204)
        del response.headers["Content-Type"]  # no body, so no type
        return response


def _restate(change) -> None:
    """Let the alert rules undo what edited or deleted readings had moved; a failure is only logged."""
    try:
        change(current_app.extensions["alerts"])
    except StoreUnavailable as error:
        current_app.logger.warning("alert states not re-derived (%s)", error.reason())
    except Exception:
        current_app.logger.exception("alert states not re-derived")


def _sensors(*docs: dict | None) -> list:
    return [doc.get("sensor") for doc in docs if doc]


def _conflict(readings: list[dict], conflict: Conflict, batch: bool) -> ApiError:
    """The 409 for readings whose _id is another reading's."""
    if not batch:
        return ApiError(f"_id {readings[0]['_id']} is another reading's", [CONFLICT_PROBLEM], status=409)
    clashes = [index for index, reading in enumerate(readings) if reading.get("_id") in conflict.ids]
    errors = [{"index": index, **CONFLICT_PROBLEM} for index in clashes]
    return ApiError(f"{len(clashes)} of {len(readings)} readings: nothing stored", errors, status=409)


def _found(doc: dict | None, oid: ObjectId) -> dict:
    if doc is None:
        raise ApiError(f"no reading with id {oid}", status=404)
    return doc


def _store_partial(payload: list) -> list[dict]:
    """Store the valid items of a batch; return one result per item, by index."""
    checked = validation.check_batch(payload, utc_now(), limits())
    outcomes = ingest.store_each(checked)
    g.readings = sum(outcome is not None for outcome in outcomes)
    results = []
    for index, ((_, problems), outcome) in enumerate(zip(checked, outcomes, strict=True)):
        if outcome is None:
            result = {"index": index, "status": "rejected", "errors": problems.listed}
            if problems.count > len(problems.listed):
                result["problems"] = problems.count  # each counted, the first listed
            results.append(result)
        else:
            doc, created = outcome
            results.append(
                {"index": index, "status": "stored" if created else "already_stored", "_id": doc["_id"]}
            )
    return results


def _fill(buckets: list[dict], query) -> list[dict]:
    """Put an empty bucket (count 0, null statistics) wherever none was found."""
    found = {bucket["start"]: bucket for bucket in buckets}
    step = query.interval_ms
    first = epoch_millis(query.filters.since) // step * step
    count = queries.bucket_starts_count(query.filters.since, query.filters.until, step)
    starts = (EPOCH + timedelta(milliseconds=first + i * step) for i in range(count))
    empty = dict.fromkeys(STATISTICS[1:])
    return [found.get(start) or {"start": start, "count": 0, **empty} for start in starts]


def register(api) -> None:
    """Add every resource to the Api: the whole URL map."""
    api.add_resource(Root, "/")
    api.add_resource(OpenApiDocument, "/openapi.json")
    api.add_resource(ReadingList, "/readings/")
    api.add_resource(ReadingStats, "/readings/stats")
    api.add_resource(ReadingExport, "/readings/export")
    api.add_resource(Reading, "/readings/<ObjectId:id>")
    api.add_resource(SensorList, "/sensors/")
    api.add_resource(SensorOverview, "/sensors/overview")
    api.add_resource(SensorLatest, "/sensors/<sensor:sensor>/latest")
    api.add_resource(alerts.RuleList, "/rules/")
    api.add_resource(alerts.Rule, "/rules/<ObjectId:id>")
    api.add_resource(alerts.RuleEvents, "/rules/<ObjectId:id>/events")
    api.add_resource(alerts.AlertList, "/alerts/")
