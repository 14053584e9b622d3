"""Flask CLI commands: ``flask --app flask_rest_service init-db`` and ``keys ...``."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .auth import SCOPES, KeyManagementError
from .maintenance import create_indexes


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the indexes and apply READINGS_RETENTION_DAYS."""
    names = create_indexes(current_app)
    click.echo(f"indexes ready: {', '.join(names)}")


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
    app.cli.add_command(keys)
