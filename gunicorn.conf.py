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

# Threads, as Heroku's own Python template runs gunicorn: a worker's threads
# answer while others wait on a slow client. Under the sync worker one idle
# socket held a worker until gunicorn killed it (issue 12). A socket that
# trickles its request still holds a thread as long as it keeps sending (an
# idle one is closed after about 7 s), so 32 a worker keep 25 such sockets
# from stalling even one worker (tests/test_slow_clients.py; with 8, they
# stall it); more threads only queue on SQLite's one writer and the
# interpreter lock. gevent met the target too, but patches the whole process
# and SQLite blocks its event loop on every call: bench/SLOW_CLIENTS.md.
worker_class = "gthread"
threads = 32

# A thread's request is not timed: `timeout` is how long the worker's main
# loop may go silent before gunicorn restarts it (a process stuck, not a slow
# answer), so an export longer than it streams to the end. The service's own
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


def post_worker_init(worker):
    """Make each worker a web process: the start-up checks and the periodic jobs.

    A check that refuses (REQUIRE_API_KEYS with no key) raises: gunicorn then
    stops with "Worker failed to boot" rather than starting workers forever.
    """
    from flask_rest_service import serve

    serve(worker.wsgi)
