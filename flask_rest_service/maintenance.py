"""Indexes and retention: the ``init-db`` command and the pass at start-up.

At start-up (``CREATE_INDEXES``, on by default) an unreachable database is
not fatal: the service starts, warns, and tries again on a later request, at
most once every ``RETRY_SECONDS``.
"""

import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from pymongo.errors import PyMongoError

RETRY_SECONDS = 30


def create_indexes(app: Flask) -> list[str]:
    """Create the indexes and apply the retention setting."""
    return app.extensions["readings"].create_indexes(app.config["READINGS_RETENTION_DAYS"])


def init_app(app: Flask) -> None:
    """Register the CLI command and, if configured, create indexes now."""
    app.cli.add_command(init_db_command)
    app.extensions["indexes_due"] = 0.0 if app.config["CREATE_INDEXES"] else None
    _try_indexes(app)
    app.before_request(_retry_indexes)


def _try_indexes(app: Flask) -> None:
    due = app.extensions["indexes_due"]
    if due is None or time.monotonic() < due:
        return
    try:
        create_indexes(app)
    except PyMongoError as error:
        app.extensions["indexes_due"] = time.monotonic() + RETRY_SECONDS
        app.logger.warning(
            "could not create indexes (%s); the service runs and will try again", type(error).__name__
        )
    else:
        app.extensions["indexes_due"] = None


def _retry_indexes() -> None:
    _try_indexes(current_app._get_current_object())


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the readings indexes and apply READINGS_RETENTION_DAYS."""
    names = create_indexes(current_app)
    click.echo(f"indexes ready: {', '.join(names)}")
