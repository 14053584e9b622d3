"""Flask CLI commands: ``flask --app flask_rest_service init-db``, ``run-jobs``, ``copy-to``, ``copy-from``,
``keys ...`` and ``rules ...``."""

import click
import orjson
from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import jobs, migrate
from .alerts import resources as alert_resources
from .auth import SCOPES, BadKeyName, KeyManagementError
from .errors import ApiError
from .stores import StoreUnavailable, open_store


class _OneLine:
    """A command that, when the store is away, says so in one line and exits 1 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StoreUnavailable as error:
            raise click.ClickException(f"{error.detail} ({error.reason()})") from None


class StoreCommand(_OneLine, click.Command):
    pass


class StoreGroup(_OneLine, AppGroup):
    pass


@click.command("init-db", cls=StoreCommand)
@click.option("--recount", is_flag=True, help="MongoDB: count each sensor's readings again for /sensors/.")
@with_appcontext
def init_db_command(recount: bool) -> None:
    """Create the tables or indexes the store needs; harmless to repeat."""
    store = current_app.extensions["store"]
    names = store.init(recount=recount)
    click.echo(f"{store.kind} store {store.name!r} ready; indexes: {', '.join(names)}")


@click.command("run-jobs", cls=StoreCommand)
@with_appcontext
def run_jobs_command() -> None:
    """Run the periodic jobs (retention, alert checks) once and send due notifications, for a scheduler."""
    done = jobs.run_once(current_app)
    if done is None:
        click.echo("another process holds the jobs' lease; nothing done")
    else:
        click.echo(f"done: {done}")
    sent = current_app.extensions["alerts"].deliver()
    if sent:
        click.echo(f"notifications tried: {sent}")


class BadArgument(click.ClickException):
    """Bad input, exit code 2 as click's own usage errors, in one line (no usage text)."""

    exit_code = 2


def _settings(text: str, hint: str, exists: bool = False) -> dict:
    """The store settings ``text`` names, or exit 2 with one line saying why not."""
    try:
        settings = migrate.store_settings(text, current_app.config, exists)
    except migrate.BadLocation as error:
        raise BadArgument(f"{hint}: {error}") from None
    if migrate.is_configured_store(settings, current_app.config):
        raise click.ClickException(f"the {hint.lower()} is the store the service is configured with")
    return settings


def _copy(source, target) -> None:
    """Copy ``source`` to ``target``, saying what it does; one path for copy-to and copy-from."""
    click.echo(
        f"copying from the {source.kind} store {source.name!r} to the {target.kind} store {target.name!r}"
    )

    def progress(done: migrate.Copied) -> None:
        if (done.readings + done.already) % (100 * migrate.BATCH) == 0:
            click.echo(f"  {done.readings + done.already} readings...")

    try:
        done = migrate.copy(source, target, progress)
    except migrate.Conflicts as error:
        raise click.ClickException(
            f"nothing copied: the target holds these in another form: {error}; "
            "revoke or delete one side's and run again"
        ) from None
    click.echo(f"keys: {done.keys} copied, {done.keys_already} there already")
    click.echo(f"alert rules: {done.rules} copied, {done.rules_already} there already")
    click.echo(f"readings: {done.readings} copied, {done.already} there already")
    if done.skipped:
        shown = ", ".join(map(str, done.skipped[:5]))
        click.echo(
            f"not copied: {len(done.skipped)} readings whose _id is not an ObjectId ({shown}, ...)", err=True
        )
    if done.differ:
        shown = ", ".join(map(str, done.differ[:5]))
        raise click.ClickException(
            f"not copied: {len(done.differ)} readings whose _id the target holds with other content "
            f"({shown}{', ...' if len(done.differ) > 5 else ''}); each side keeps its own"
        )


@click.command("copy-to", cls=StoreCommand)
@click.argument("target")
@with_appcontext
def copy_to_command(target: str) -> None:
    """Copy every reading, key and alert rule to TARGET: a mongodb:// or mongodb+srv:// URL, or a SQLite file.

    The configured store is only read. Readings keep their ids, so running it
    again after an interruption copies only what is missing.
    """
    store = open_store(_settings(target, "TARGET"))
    try:
        _copy(current_app.extensions["store"], store)
    finally:
        store.close()


@click.command("copy-from", cls=StoreCommand)
@click.argument("source")
@with_appcontext
def copy_from_command(source: str) -> None:
    """Copy every reading, key and alert rule from SOURCE, named as copy-to's TARGET, to the configured store.

    SOURCE is only read; a SQLite file must exist. Readings keep their ids, so running it again after
    an interruption copies only what is missing.
    """
    store = open_store(_settings(source, "SOURCE", exists=True))
    try:
        _copy(store, current_app.extensions["store"])
    finally:
        store.close()


keys = StoreGroup("keys", help="Manage API keys.")


@keys.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), default="read", show_default=True)
def create_key(name: str, scope: str) -> None:
    """Create a key; it is printed once and never again."""
    try:
        key = current_app.extensions["keys"].create(name, scope)
    except BadKeyName as error:
        raise BadArgument(f"NAME: {error}") from None
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


rules = StoreGroup("rules", help="Manage alert rules (the same as /rules/ over the API).")


@rules.command("list")
def list_rules() -> None:
    """List the rules: id, name, sensors, condition, targets (masked)."""
    for rule in current_app.extensions["store"].alerts.rules():
        shown = alert_resources.public(rule)
        sensors = rule.get("sensor") or f"{rule['sensor_prefix']}*"
        columns = [str(rule["_id"]), rule["name"], sensors, shown["condition"], " ".join(shown["notify"])]
        click.echo("\t".join(columns + ([] if rule["enabled"] else ["disabled"])))


@rules.command("create")
@click.argument("body", type=click.File("r"), default="-")
def create_rule(body) -> None:
    """Make a rule from a JSON body (a file, or - for standard input); prints its id and secret."""
    try:
        made = alert_resources.create(orjson.loads(body.read()))
    except orjson.JSONDecodeError as error:
        raise click.ClickException(f"not valid JSON: {error}") from None
    except ApiError as error:
        problems = "; ".join(f"{entry.get('field')}: {entry['detail']}" for entry in error.errors or [])
        raise click.ClickException(f"{error.detail}: {problems}" if problems else error.detail) from None
    click.echo(f"created rule {made['_id']} ({made['condition']}); its webhook secret, shown once:")
    click.echo(made["secret"])


@rules.command("delete")
@click.argument("rule_id")
def delete_rule(rule_id: str) -> None:
    """Delete a rule with its history."""
    try:
        oid = ObjectId(rule_id)
    except InvalidId:
        raise click.ClickException(f"not a rule id: {rule_id!r}") from None
    if not current_app.extensions["store"].alerts.delete_rule(oid):
        raise click.ClickException(f"no rule with id {rule_id}")
    click.echo(f"deleted rule {rule_id}")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(run_jobs_command)
    app.cli.add_command(copy_to_command)
    app.cli.add_command(copy_from_command)
    app.cli.add_command(keys)
    app.cli.add_command(rules)
