"""gunicorn settings, read by ``gunicorn flask_rest_service:app`` from this folder."""

import os

# Heroku's router must reach the dyno: every interface there. Elsewhere only
# this machine, unless HOST says otherwise (HOST=0.0.0.0 for devices on the
# network; then turn API keys on, README "Security").
host = os.environ.get("HOST") or ("0.0.0.0" if os.environ.get("DYNO") else "127.0.0.1")
bind = f"{host}:{os.environ.get('PORT', '5000')}"

# Every worker opens the same store (the SQLite file, or MongoDB), so a
# reading one worker acknowledged is there for the others at once.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Heroku's router gives up on a request after 30 s and gives a dyno 30 s
# between SIGTERM and SIGKILL: finish or give up before either.
timeout = 25
graceful_timeout = 25

# No access log of gunicorn's: the service writes one line per request itself
# (flask_rest_service/logs.py), with its request id; gunicorn's would be a
# second line for every request (and cost 7% of a small POST, bench/NOTES.md).

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
