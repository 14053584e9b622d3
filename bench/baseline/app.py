"""The classic 2014 tutorial service, ported faithfully to current Flask-RESTful and pymongo.

The benchmark's baseline: what a user would otherwise deploy. The changes are
only those today's libraries force: ``flask.ext.restful`` -> ``flask_restful``,
``insert()`` -> ``insert_one()``/``insert_many()``, ``remove()`` ->
``delete_one()``, and ``find_one`` + ``abort(404)`` (mongomock has no
``find_one_or_404``). Everything else is kept:
the form field ``reading`` parsed by reqparse (``location="form"``: today's Flask
answers 415 when reqparse looks for JSON in a form body), the read-back after insert
(for a batch, ``find_one({"_id": [ids]})``, as the original did), ``find()``
of every reading into a list, and ``json_util.dumps`` as the representation.

Its store is MongoDB when MONGO_URL is set. Without it, the store is stock
mongomock (a development requirement, never deployed): the only stand-in
for MongoDB that runs on a machine without a server. The service's own
store is then SQLite, so comparisons with this baseline compare stores too
(``bench/NOTES.md``).
"""

import json
import os

from bson import json_util
from flask import Flask, abort, make_response
from flask_pymongo import BSONObjectIdConverter, PyMongo
from flask_restful import Api, Resource, reqparse

app = Flask(__name__)
MONGO_URL = os.environ.get("MONGO_URL")
if MONGO_URL:
    app.config["MONGO_URI"] = MONGO_URL
    mongo = PyMongo(app)
    db = mongo.db
else:  # stock mongomock, a dictionary in this process (bench/seed_config.py seeds it)
    import mongomock

    db = mongomock.MongoClient()["rest"]
    app.url_map.converters["ObjectId"] = BSONObjectIdConverter


def output_json(obj, code, headers=None):
    resp = make_response(json_util.dumps(obj), code)
    resp.headers.extend(headers or {})
    return resp


api = Api(app)
api.representations = {"application/json": output_json}


def find_one_or_404(query):
    doc = db.readings.find_one(query)
    if doc is None:
        abort(404)
    return doc


class ReadingList(Resource):
    def __init__(self, *args, **kwargs):
        self.parser = reqparse.RequestParser()
        self.parser.add_argument("reading", type=str, location="form")
        super().__init__()

    def get(self):
        return [x for x in db.readings.find()]

    def post(self):
        args = self.parser.parse_args()
        if not args["reading"]:
            abort(400)
        jo = json.loads(args["reading"])
        if isinstance(jo, list):
            reading_id = db.readings.insert_many(jo).inserted_ids
        else:
            reading_id = db.readings.insert_one(jo).inserted_id
        return db.readings.find_one({"_id": reading_id})


class Reading(Resource):
    def get(self, reading_id):
        return find_one_or_404({"_id": reading_id})

    def delete(self, reading_id):
        find_one_or_404({"_id": reading_id})
        db.readings.delete_one({"_id": reading_id})
        return "", 204


class Root(Resource):
    def get(self):
        return {"status": "OK", "mongo": str(db)}


api.add_resource(Root, "/")
api.add_resource(ReadingList, "/readings/")
api.add_resource(Reading, "/readings/<ObjectId:reading_id>")
