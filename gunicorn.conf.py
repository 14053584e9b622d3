"""gunicorn settings, read by ``gunicorn flask_rest_service:app`` from this folder."""

import os

# Heroku's router must reach the dyno: every interface there. Elsewhere only
# this machine, unless HOST says otherwise (HOST=0.0.0.0 for devices on the
# network; then turn API keys on, docs/security.md).
host = os.environ.get("HOST") or ("0.0.0.0" if os.environ.get("DYNO") else "127.0.0.1")
bind = f"{host}:{os.environ.get('PORT', '5000')}"

# Every worker opens the same store (the SQLite file, or MongoDB), so a
# reading one worker acknowledged is there for the others at once.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# gunicorn's own asyncio worker holds every connection on an event loop, so an
# idle, trickling or slow-body client costs a socket, not a thread; the Flask
# app runs on APP_THREADS threads a worker (a2wsgi), once a request's head and
# whole body have arrived (flask_rest_service/serving.py). Under gthread
# (2 x 32 before) a new connection took a thread at once for up to 5 s: 300 idle
# sockets stalled a GET / 29 s, 64 trickling ones 37 s. gevent met the target
# too but patches the whole process, SQLite blocks its loop, and it sends
# "100 Continue" before the app can refuse a body: bench/SLOW_CLIENTS.md.
worker_class = "asgi"
APP_THREADS = 32  # a2wsgi's pool: requests answered at once (more only queue on SQLite's one writer)

# A request is not timed: `timeout` is how long the worker's event loop may go
# silent before gunicorn restarts it (a process stuck, not a slow answer), so
# an export longer than it streams to the end. The asgi worker also drops a
# request whose body stops for `timeout` between two bytes. The service's own
# limits bound the rest (MONGO_REQUEST_TIMEOUT_MS, SQLITE_BUSY_TIMEOUT_MS).
# Heroku gives a dyno 30 s between SIGTERM and SIGKILL: shut down before.
timeout = 25
graceful_timeout = 25

# gunicorn 23+ opens a control socket at ~/.gunicorn/gunicorn.ctl, one path
# for every gunicorn of the user: two services on one machine took it from
# each other. The service uses none (signals and the Procfile manage it).
control_socket_disable = True

# No access log of gunicorn's: the service writes one line per request itself
# (flask_rest_service/logs.py), with its request id; gunicorn's would be a
# second line for every request (what it cost: bench/NOTES.md).

# On Heroku the router is the only peer that reaches a dyno: trust its
# X-Forwarded-Proto. Elsewhere gunicorn's default: only a proxy on loopback
# (or the addresses in FORWARDED_ALLOW_IPS). The app's own ProxyFix
# (FORWARDED_HOPS) decides about X-Forwarded-For and -Host the same way.
if os.environ.get("DYNO"):
    forwarded_allow_ips = "*"
# No front end of ours sets SCRIPT_NAME or PATH_INFO, and Heroku's router
# passes a client's own headers on: take them from nobody.
forwarder_headers = ""


def on_starting(server):
    """Refuse to start, in one line, on a setting the service refuses (a typo, MONGO_URL with w=0).

    Checked once in the master, before any worker: otherwise each worker
    fails to boot with a traceback whose last line is the reason.
    """
    from flask_rest_service.config import ConfigError, from_env

    try:
        from_env()
    except ConfigError as error:
        server.log.error("Refusing to start: %s", error)
        raise SystemExit(1) from None


def post_worker_init(worker):
    """Make each worker a web process: the start-up checks and the periodic jobs.

    A check that refuses (REQUIRE_API_KEYS with no key) raises: gunicorn then
    stops with "Worker failed to boot" rather than starting workers forever.
    """
    from gunicorn.workers.gasgi import ASGIWorker

    from flask_rest_service import serve, serving

    if isinstance(worker, ASGIWorker):  # what it loaded is the Flask app, a WSGI app
        worker.asgi = serving.asgi(serve(worker.asgi), APP_THREADS)
    else:  # a WSGI worker asked for on the command line (-k gthread: bench/slow_clients.py)
        serve(worker.wsgi)
