"""The ceiling: bare Flask endpoints making the service's own store calls, with a minimal JSON answer.

No validation, no keys, no limits, no logs: what Flask itself allows on this
machine with this store. The store is the service's (``open_store``): the
SQLite file at SQLITE_PATH, or MongoDB when MONGO_URL is set. It answers the
same workloads as the service. The only conversion: a posted ISO 8601
``timestamp`` becomes the naive UTC date the store keeps (assumed UTC, not
checked), so that readings land in the same place of the store's order.
"""

import json
from datetime import datetime

import orjson
from bson import ObjectId
from flask import Flask, Response, request

from flask_rest_service import config
from flask_rest_service.stores import open_store
from flask_rest_service.stores.base import EVERYTHING, Filters, ListQuery, StatsQuery

app = Flask(__name__)
readings = open_store(config.from_env()).readings


def _json(value, status=200):
    return Response(orjson.dumps(value, default=str), status, mimetype="application/json")


def _stored(reading: dict) -> dict:
    timestamp = reading.get("timestamp")
    if isinstance(timestamp, str):
        reading["timestamp"] = datetime.fromisoformat(timestamp).replace(tzinfo=None)
    return reading


@app.post("/readings/")
def create():
    data = request.get_json() if request.is_json else json.loads(request.form["reading"])
    if isinstance(data, list):
        return _json({"inserted": len(readings.insert([_stored(item) for item in data]))}, 201)
    return _json({"_id": readings.insert([_stored(data)])[0][0]["_id"]}, 201)


@app.get("/readings/")
def page():
    limit = int(request.args.get("limit", 100))
    return _json(readings.page(ListQuery(limit=limit))[:limit])  # the store gives one more


@app.get("/readings/<oid>")
def one(oid):
    return _json(readings.get(ObjectId(oid)))


@app.get("/readings/stats")
def stats():
    args = request.args
    since, until = datetime.fromisoformat(args["since"]), datetime.fromisoformat(args["until"])
    query = StatsQuery(Filters(args["sensor"], None, since, until), "value", "1h", 3_600_000, "none")
    return _json(readings.stats(query))


@app.get("/readings/export")
def export():
    return Response(
        (orjson.dumps(doc, default=str) + b"\n" for doc in readings.export(EVERYTHING)),
        mimetype="application/x-ndjson",
    )
