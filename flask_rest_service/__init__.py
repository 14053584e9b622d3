"""The sensor readings service: application factory, store and JSON representation.

``gunicorn flask_rest_service:app`` builds the app on first use of ``app``;
importing the package builds nothing and connects nowhere.
"""

import logging
import math
import os
import threading
import time

from flask import Flask, current_app, g, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_swagger_ui import get_swaggerui_blueprint
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, cli, dashboard, jobs, logs, maintenance
from . import config as settings
from .alerts.engine import Engine
from .errors import ProblemApi, handle_error, problem
from .extjson import dumps
from .stores import open_store
from .validation import ObjectIdConverter, SensorConverter

__version__ = "2.0.0"


def create_app(config=None) -> Flask:
    """Build the app: defaults, then the environment, then ``config``."""
    app = Flask(__name__)
    app.config.update(settings.from_env(), VERSION=__version__)
    app.config.update(config or {})
    if not app.config["SQLITE_PATH"]:  # as flaskr keeps its database: instance/readings.sqlite3
        app.config["SQLITE_PATH"] = os.path.join(app.instance_path, settings.SQLITE_FILE)
    app.extensions["store"] = store = open_store(app.config)
    app.extensions["keys"] = keys = auth.Keys(store.keys, app.config["API_KEYS"])
    app.extensions["alerts"] = Engine(
        store,
        app.config["ALERTS_ALLOW_LINK_LOCAL"],
        delivery_timeout=app.config["ALERTS_DELIVERY_TIMEOUT_SECONDS"],
        delivery_threads=app.config["ALERTS_DELIVERY_THREADS"],
    )
    app.extensions["guard"] = auth.Guard(
        keys, app.config["AUTH_CACHE_SECONDS"], app.config["REQUIRE_API_KEYS"]
    )
    app.url_map.converters["ObjectId"] = ObjectIdConverter
    app.url_map.converters["sensor"] = SensorConverter
    app.register_error_handler(Exception, handle_error)

    # In this order: start the request's database budget, name the request,
    # refuse oversized bodies, check the key, then count the request against
    # the key's (or address's) limit.
    app.before_request(_start_deadline)
    app.teardown_request(_end_deadline)
    logs.init_app(app)
    app.before_request(_refuse_large_bodies)
    app.before_request(auth.check_request)
    _limit_rates(app)
    app.before_request(auth.enforce)
    if app.config["CORS_ORIGINS"]:
        CORS(app, origins=app.config["CORS_ORIGINS"], **CORS_OPTIONS)
        # Flask-CORS sends Vary only when several origins are allowed, yet the
        # answer differs by Origin with one too (and with "*", which it
        # answers by echoing the origin): a shared cache must not hand one
        # origin's answer to another.
        app.after_request(_vary_by_origin)
    hops = app.config["FORWARDED_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    maintenance.init_app(app)
    cli.init_app(app)

    # Flask-RESTful's Api keeps its resources on itself, so each app gets
    # its own rather than sharing a module-level one.
    api = ProblemApi(app, catch_all_404s=True)
    api.representation("application/json")(_output_json)

    from .resources import register

    register(api)
    # Swagger UI's assets come from the flask-swagger-ui package: no CDN.
    docs = get_swaggerui_blueprint("/docs", "/openapi.json", {"app_name": "Sensor readings API"})
    app.register_blueprint(docs)
    app.register_blueprint(dashboard.blueprint)
    return app


CORS_OPTIONS = {
    "allow_headers": ["Content-Type", "Content-Encoding", "Authorization", "X-API-Key"],
    "expose_headers": ["Location", "Link", "Retry-After", "WWW-Authenticate", "X-Request-ID"],
    "methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    "max_age": 600,
}


def _limit_rates(app: Flask) -> None:
    limit = app.config["RATE_LIMIT"]
    Limiter(
        auth.rate_limit_key,
        app=app,
        # One budget per key (or address) across the whole service, not per route.
        application_limits=[limit] if limit else [],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        # No X-RateLimit-* on every answer (what they cost: bench/NOTES.md); a 429
        # still says when to come back, computed only then.
        headers_enabled=False,
        on_breach=_too_many_requests,
        enabled=bool(limit),
    )


def _too_many_requests(limit):
    """Answer a breached rate limit: problem+json with the seconds until it resets."""
    # The window's own reset time (reset_at is that rounded up to the next whole
    # second, a second too many when it is whole); never more than the window.
    wait = max(1, min(limit.limit.get_expiry(), math.ceil(limit.window.reset_time - time.time())))
    return problem(429, str(limit.limit), headers={"Retry-After": str(wait)})


def serve(app: Flask) -> Flask:
    """Make an app a web process: the start-up checks, the periodic jobs, alert deliveries.

    gunicorn calls it for each worker (``post_worker_init`` in gunicorn.conf.py),
    ``runserver.py`` for the development server; the Flask CLI does not, so
    ``keys create`` and ``init-db`` run when the server would refuse to start.
    Here, not in ``create_app``, the store is first reached: the key check
    within the time to find the database (``MONGO_TIMEOUT_MS``), the set-up in
    the background (``maintenance``), so that a database that is away or a
    long index build never keeps the process from serving. The key check
    comes first: on a new SQLite file it makes the schema, which the set-up's
    thread would otherwise be making at the same moment (the check then met
    SQLITE_BUSY and could not say whether the service is open).
    """
    with app.extensions["store"].deadline(app.config["MONGO_TIMEOUT_MS"] / 1000):
        auth.announce(app)
    maintenance.start(app)
    store = app.extensions["store"]
    app.logger.setLevel(logging.INFO)
    app.logger.info("store: %s, %s", store.kind, store.location)
    jobs.start(app)
    alerts = app.extensions["alerts"]
    threading.Thread(target=alerts.run_deliveries, name="alert-deliveries", daemon=True).start()
    return app


def _vary_by_origin(response):
    response.vary.add("Origin")
    return response


def _start_deadline() -> None:
    # One budget for everything this request asks of the database (the key
    # check included), the store's own; an export's later batches each get their own.
    g.deadline = current_app.extensions["store"].deadline()
    g.deadline.__enter__()


def _end_deadline(error=None) -> None:
    deadline = g.pop("deadline", None)
    if deadline is not None:
        deadline.__exit__(None, None, None)


def _refuse_large_bodies() -> None:
    length = request.content_length
    if length is None:
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if length > limit:
        raise RequestEntityTooLarge(f"the body is {length} bytes; the limit is {limit}")


def _output_json(data, code, headers=None):
    """Represent resource results as relaxed BSON Extended JSON."""
    response = current_app.response_class(dumps(data), code, mimetype="application/json")
    response.headers.extend(headers or {})
    return response


def __getattr__(name: str):
    # PEP 562: ``flask_rest_service.app`` (the Procfile's target, and the app
    # the Flask CLI finds) is built on first access, so that importing the
    # package has no side effects.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
