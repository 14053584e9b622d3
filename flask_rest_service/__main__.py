"""The ``readings`` command (and ``python -m flask_rest_service``): the service's CLI commands.

The same commands as ``flask --app flask_rest_service ...`` (cli.py), which the
Procfile's release line keeps using, on the app ``create_app`` builds from the
environment, as the server does: ``readings init-db``, ``readings keys create
NAME --scope write``, ``readings rules list``, ``readings copy-to URL``...
Flask's ``run`` is left out: the server is gunicorn (``make run``), which also
starts the periodic jobs and the alert deliveries that ``flask run`` would not.
"""

import sys

import click
from flask.cli import FlaskGroup, routes_command, shell_command

from . import __version__, create_app
from .config import ConfigError

readings = FlaskGroup(
    name="readings",
    help="Manage the sensor readings service: its store, API keys and alert rules.\n\n"
    "Settings come from the environment, as for the server (SQLITE_PATH, MONGO_URL, ...).",
    create_app=create_app,
    add_default_commands=False,
    add_version_option=False,
)
readings.add_command(shell_command)
readings.add_command(routes_command)
click.version_option(__version__, prog_name="readings", message="%(prog)s %(version)s")(readings)


def main() -> None:
    """Run the ``readings`` command line; a setting it refuses is said in one line (exit 1)."""
    try:
        readings.main()
    except ConfigError as error:
        sys.exit(f"Error: {error}")


if __name__ == "__main__":
    main()
