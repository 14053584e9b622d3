"""The dashboard page: ``GET /dashboard``, with its assets under ``/static/``.

The page is HTML, CSS and JavaScript of this package's own (no CDN, no build
step). It holds no data: its script reads the API (``/sensors/``,
``/alerts/``, ``/readings/stats``, ``/readings/``, ``/readings/export``) with
the read key the user gives it, so the page and its assets need no key
themselves. Without ``?sensor=NAME`` it opens on the overview: every sensor's
alert state (firing first), its last 24 hours and its latest value.
"""

from flask import Blueprint, current_app, render_template

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/dashboard")
def page():
    """Serve the dashboard page."""
    config = current_app.config
    return render_template(
        "dashboard.html",
        refresh_seconds=config["DASHBOARD_REFRESH_SECONDS"],
        quiet_minutes=config["QUIET_AFTER_MINUTES"],
        version=config["VERSION"],
    )
