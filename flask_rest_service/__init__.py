"""The sensor readings service: application factory, store and JSON representation.

``gunicorn flask_rest_service:app`` builds the app on first use of ``app``;
importing the package builds nothing and connects nowhere.
"""

from flask import Flask, current_app, request
from flask_pymongo import PyMongo
from werkzeug.exceptions import RequestEntityTooLarge

from . import config as settings
from . import embedded, maintenance
from .errors import ProblemApi, handle_error
from .extjson import dumps
from .readings import ReadingStore
from .validation import ObjectIdConverter

__version__ = "1.0.0"


def create_app(config=None) -> Flask:
    """Build the app: defaults, then the environment, then ``config``."""
    app = Flask(__name__)
    app.config.update(settings.from_env(), VERSION=__version__)
    app.config.update(config or {})
    app.extensions["readings"] = ReadingStore(_database(app))
    maintenance.init_app(app)
    app.url_map.converters["ObjectId"] = ObjectIdConverter
    app.before_request(_refuse_large_bodies)
    app.register_error_handler(Exception, handle_error)

    # Flask-RESTful's Api keeps its resources on itself, so each app gets
    # its own rather than sharing a module-level one.
    api = ProblemApi(app, catch_all_404s=True)
    api.representation("application/json")(_output_json)

    from .resources import register

    register(api)
    return app


def _database(app: Flask):
    """Open (lazily: nothing connects before the first query) the database."""
    client = app.config.get("MONGO_CLIENT")  # tests pass one
    uri = app.config["MONGO_URI"]
    if client is None and uri:
        timeout = app.config["MONGO_TIMEOUT_MS"]
        mongo = PyMongo(
            app,
            uri,
            serverSelectionTimeoutMS=timeout,
            connectTimeoutMS=timeout,
            socketTimeoutMS=app.config["MONGO_SOCKET_TIMEOUT_MS"],
        )
        client = mongo.cx
    elif client is None:
        client = embedded.client()
    is_embedded = embedded.is_embedded(client)
    if is_embedded:
        embedded.make_linear()
    app.config["STORE_KIND"] = "embedded" if is_embedded else "mongodb"
    if is_embedded and not app.testing:
        app.logger.warning(
            "EMBEDDED STORE: readings live in this process's memory only; "
            "data is not persisted; set MONGO_URL to use MongoDB"
        )
    return client[app.config["MONGO_DBNAME"]]


def _refuse_large_bodies() -> None:
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")


def _output_json(data, code, headers=None):
    """Represent resource results as relaxed BSON Extended JSON."""
    response = current_app.response_class(dumps(data), code, mimetype="application/json")
    response.headers.extend(headers or {})
    return response


def __getattr__(name: str):
    # PEP 562: ``flask_rest_service.app`` (the Procfile's target) is built on
    # first access, so that importing the package has no side effects.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
