"""The ceiling: bare Flask endpoints doing only the store call and a minimal JSON answer.

No validation, no keys, no limits, no logs: what Flask itself allows on this
machine with this store. It answers the same workloads as the service.
"""

import json
import os
from datetime import datetime

import orjson
from bson import ObjectId
from flask import Flask, Response, request
from pymongo import MongoClient

from flask_rest_service.queries import Filters, StatsQuery
from flask_rest_service.readings import NEWEST_FIRST, stats_pipeline

app = Flask(__name__)
MONGO_URL = os.environ.get("MONGO_URL")
if MONGO_URL:
    readings = MongoClient(MONGO_URL).get_default_database("rest")["readings"]
else:
    from flask_rest_service import embedded

    readings = embedded.client()["rest"]["readings"]


def _json(value, status=200):
    return Response(orjson.dumps(value, default=str), status, mimetype="application/json")


@app.post("/readings/")
def create():
    data = request.get_json() if request.is_json else json.loads(request.form["reading"])
    if isinstance(data, list):
        return _json({"inserted": len(readings.insert_many(data).inserted_ids)}, 201)
    return _json({"_id": readings.insert_one(data).inserted_id}, 201)


@app.get("/readings/")
def page():
    # The service's own store call: newest first (the index order on MongoDB).
    cursor = readings.find({}).sort(NEWEST_FIRST).limit(int(request.args.get("limit", 1000)))
    return _json(cursor.to_list())


@app.get("/readings/<oid>")
def one(oid):
    return _json(readings.find_one({"_id": ObjectId(oid)}))


@app.get("/readings/stats")
def stats():
    args = request.args
    since, until = datetime.fromisoformat(args["since"]), datetime.fromisoformat(args["until"])
    query = StatsQuery(Filters(args["sensor"], None, since, until), "value", "1h", 3_600_000, "none")
    return _json(list(readings.aggregate(stats_pipeline(query))))


@app.get("/readings/export")
def export():
    cursor = readings.find({}).sort([("timestamp", 1), ("_id", 1)])
    return Response(
        (orjson.dumps(doc, default=str) + b"\n" for doc in cursor), mimetype="application/x-ndjson"
    )
