"""Flask CLI commands: ``flask --app flask_rest_service init-db``, ``run-jobs`` and ``keys ...``."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import jobs, migrate
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


@click.command("copy-to")
@click.argument("target")
@with_appcontext
def copy_to_command(target: str) -> None:
    """Copy every reading and key to TARGET: a mongodb:// or mongodb+srv:// URL, or a SQLite file.

    The configured store is only read. Readings keep their ids, so running it
    again after an interruption copies only what is missing.
    """
    source = current_app.extensions["store"]
    if migrate.is_configured_store(target, current_app.config):
        raise click.ClickException("the target is the store the service is configured with")
    store = migrate.open_target(target, current_app.config)
    click.echo(
        f"copying from the {source.kind} store {source.name!r} to the {store.kind} store {store.name!r}"
    )

    def progress(done: migrate.Copied) -> None:
        if (done.readings + done.already) % (100 * migrate.BATCH) == 0:
            click.echo(f"  {done.readings + done.already} readings...")

    try:
        done = migrate.copy(source, store, progress)
    finally:
        store.close()
    click.echo(f"keys: {done.keys} copied, {done.keys_already} there already")
    click.echo(f"readings: {done.readings} copied, {done.already} there already")
    if done.skipped:
        shown = ", ".join(map(str, done.skipped[:5]))
        click.echo(
            f"not copied: {len(done.skipped)} readings whose _id is not an ObjectId ({shown}, ...)", err=True
        )


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
    app.cli.add_command(copy_to_command)
    app.cli.add_command(keys)
