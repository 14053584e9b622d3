"""The REST resources and the URL map.

Each method parses its input (validation, bodies), calls the store
(readings) and returns ``(body, status, headers)``.
"""

from datetime import UTC, datetime
from urllib.parse import urlencode

from bson import ObjectId
from flask import current_app, request, url_for
from flask_restful import Resource
from pymongo.errors import PyMongoError

from . import bodies, validation
from .errors import ApiError
from .readings import ReadingStore


def store() -> ReadingStore:
    """Return this app's reading store."""
    return current_app.extensions["readings"]


def limits() -> validation.Limits:
    """Return the request limits configured for this app."""
    config = current_app.config
    return validation.Limits(max_batch=config["MAX_BATCH_SIZE"], max_depth=config["MAX_READING_DEPTH"])


def now() -> datetime:
    """Return the receipt time of this request."""
    return datetime.now(UTC)


class Root(Resource):
    """The health check."""

    def get(self):
        """Report the service's state after pinging the database."""
        config = current_app.config
        health = {
            "store": config["STORE_KIND"],
            "database": config["MONGO_DBNAME"],
            "version": config["VERSION"],
        }
        if config["STORE_KIND"] == "embedded":
            health["warning"] = "data is not persisted; set MONGO_URL"
        try:
            store().ping()
        except PyMongoError:
            raise ApiError("the database cannot be reached", status=503, extra=health) from None
        return {"status": "OK", **health}


class ReadingList(Resource):
    """All readings: list newest first, or add some."""

    def get(self):
        """List readings, one keyset page at a time."""
        config = current_app.config
        query = validation.parse_list_query(
            request.args, config["DEFAULT_PAGE_SIZE"], config["MAX_PAGE_SIZE"]
        )
        found = store().page(query)
        headers = {}
        if len(found) > query.limit:
            found = found[: query.limit]
            last = found[-1]
            args = {k: v for k, v in request.args.items() if k != "cursor"}
            args["cursor"] = validation.encode_cursor(last["timestamp"], last["_id"])
            headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
        return found, 200, headers

    def post(self):
        """Store one reading or a batch."""
        payload = bodies.read_json_or_form()
        readings = validation.clean_readings(payload, now(), limits())
        stored = store().insert(readings)
        if isinstance(payload, list):
            return [doc for doc, _ in stored], 201
        doc, created = stored[0]
        location = url_for("reading", id=doc["_id"])
        return doc, 201 if created else 200, {"Location": location}


class Reading(Resource):
    """One reading, by id."""

    def get(self, id: ObjectId):
        """Return one reading."""
        return _found(store().get(id), id)

    def put(self, id: ObjectId):
        """Replace a reading; the id stays."""
        reading = validation.clean_replacement(bodies.read_json(), id, now(), limits())
        return _found(store().replace(id, reading), id)

    def patch(self, id: ObjectId):
        """Set or remove (with null) top-level fields of a reading."""
        body = bodies.read_json(bodies.JSON, "application/merge-patch+json")
        changes, removals = validation.clean_patch(body, id, limits())
        return _found(store().update(id, changes, removals), id)

    def delete(self, id: ObjectId):
        """Delete a reading."""
        if not store().delete(id):
            _found(None, id)
        response = current_app.response_class(status=204)
        del response.headers["Content-Type"]  # no body, so no type
        return response


def _found(doc: dict | None, oid: ObjectId) -> dict:
    if doc is None:
        raise ApiError(f"no reading with id {oid}", status=404)
    return doc


def register(api) -> None:
    """Add every resource to the Api: the whole URL map."""
    api.add_resource(Root, "/")
    api.add_resource(ReadingList, "/readings/")
    api.add_resource(Reading, "/readings/<ObjectId:id>")
