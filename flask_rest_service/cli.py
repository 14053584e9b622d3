"""Flask CLI commands: ``flask --app flask_rest_service init-db``, ``run-jobs`` and ``keys ...``."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import jobs
from .auth import SCOPES, KeyManagementError


@click.command("init-db")
@click.option("--recount", is_flag=True, help="MongoDB: count each sensor's readings again for /sensors/.")
@with_appcontext
def init_db_command(recount: bool) -> None:
    """Create the tables or indexes the store needs; harmless to repeat."""
    store = current_app.extensions["store"]
    names = store.init(recount=recount)
    click.echo(f"{store.kind} store {store.name!r} ready; indexes: {', '.join(names)}")


@click.command("run-jobs")
@with_appcontext
def run_jobs_command() -> None:
    """Run the periodic jobs (retention) once, for a scheduler."""
    done = jobs.run_once(current_app)
    if done is None:
        click.echo("another process holds the jobs' lease; nothing done")
    else:
        click.echo(f"done: {done}")


keys = AppGroup("keys", help="Manage API keys.")


@keys.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), default="read", show_default=True)
def create_key(name: str, scope: str) -> None:
    """Create a key; it is printed once and never again."""
    try:
        key = current_app.extensions["keys"].create(name, scope)
    except KeyManagementError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {scope} key {name!r}; store it now, it is not shown again:")
    click.echo(key)


@keys.command("list")
def list_keys() -> None:
    """List keys: name, scope, created, last used (never the key)."""
    for key in current_app.extensions["keys"].list():
        created = key.get("created") or "-"
        last_used = key.get("last_used") or "never"
        source = key.get("source", "database")
        click.echo(f"{key['name']}\t{key['scope']}\tcreated {created}\tlast used {last_used}\t{source}")


@keys.command("revoke")
@click.argument("name")
def revoke_key(name: str) -> None:
    """Delete a key by name."""
    if not current_app.extensions["keys"].revoke(name):
        raise click.ClickException(f"no stored key named {name!r}")
    click.echo(f"revoked {name!r}")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(run_jobs_command)
    app.cli.add_command(keys)
