"""`serve` (the review inbox) and `users` (who may log in to it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from monitor.errors import UserError

if TYPE_CHECKING:
    from monitor.app import App


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default: web.port, 8765).")
@click.pass_obj
def serve_command(app: App, host: str | None, port: int | None) -> None:
    """Start the review inbox on the same database the daemon writes to."""
    import uvicorn  # the web stack: only for this command

    from monitor.web import create_app
    from monitor.web.users import list_users

    settings = app.settings.web
    host = host or settings.host
    port = settings.port if port is None else port
    with app.database.session() as session:
        no_users = not list_users(session)
    web_app = create_app(app)  # an error here (a read-only database) is the one line said
    if no_users:
        click.echo("no users yet: add one with `complaint-monitor users add NAME --role agent`", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"listening on {host}: put a TLS reverse proxy in front (the inbox shows personal data)", err=True)
    click.echo(f"review inbox on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        log_level="warning",
        log_config=_masked_log_config(),
        server_header=False,
        proxy_headers=True,
    )


def _masked_log_config() -> dict[str, Any]:
    """uvicorn's own logging setup, with configured secrets masked in its handlers too (they are not the root
    logger's, which `cli` already masks)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask"] = {"()": "monitor.secrets.MaskingFilter"}
    # not the access handler: its formatter needs the record's own args (method, path, status), which masking
    # would fold into the message; those lines carry no configured value, and are off at the "warning" level
    for name, handler in config.get("handlers", {}).items():
        if name != "access":
            handler["filters"] = [*handler.get("filters", []), "mask"]
    return config


@click.group("users")
def users_group() -> None:
    """Who may log in to the review inbox (agents change things, viewers only read)."""


def _password(prompt: bool, from_stdin: bool) -> str:
    if from_stdin:
        import sys

        value = sys.stdin.readline().rstrip("\n")
        if not value:
            raise UserError("no password on stdin")
        return value
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=prompt))


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "viewer"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@click.pass_obj
def users_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is prompted and stored as an argon2 hash."""
    from monitor.web.users import add_user, check_name

    check_name(name)
    password = _password(True, password_stdin)
    with app.database.writing() as session:
        add_user(session, name, role, password)
    click.echo(f"added {name} ({role})")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_obj
def users_passwd(app: App, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    from monitor.web.users import set_password

    password = _password(True, password_stdin)
    with app.database.writing() as session:
        set_password(session, name, password)
    click.echo(f"password of {name} changed")


@users_group.command("remove")
@click.argument("name")
@click.pass_obj
def users_remove(app: App, name: str) -> None:
    """Remove a user (their open sessions stop working)."""
    from monitor.web.users import remove_user

    with app.database.writing() as session:
        remove_user(session, name)
    click.echo(f"removed {name}")


@users_group.command("list")
@click.pass_obj
def users_list(app: App) -> None:
    """Every user and their role."""
    from monitor.web.users import list_users

    with app.database.session() as session:
        for user in list_users(session):
            click.echo(f"{user.name}\t{user.role}")


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
    cli.add_command(users_group)
