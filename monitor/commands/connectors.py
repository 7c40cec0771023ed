"""`connectors check` and `connectors list`: is each configured channel reachable, and which types exist."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from monitor.errors import UserError, WorkFailed

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.config import ConnectorSettings, Settings


@dataclass(frozen=True)
class CheckResult:
    name: str
    type: str
    outcome: str  # ok | auth failed | config error | unreachable | timed out | failed
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def line(self) -> str:
        from monitor.secrets import mask

        return mask(
            f"{self.name} ({self.type}): {self.message}"
            if self.ok
            else f"{self.name} ({self.type}): {self.outcome}: {self.message}"
        )


def check_connector(settings: Settings, entry: ConnectorSettings) -> CheckResult:
    """Build the connector from its config entry and try the channel once, within its timeout."""
    # imported here, like in every command: `--help` loads this module too
    from connectors import ConnectorAuthError, ConnectorConfigError, ConnectorError
    from monitor.runner import build_connector

    def result(outcome: str, message: str) -> CheckResult:
        return CheckResult(entry.name, entry.type, outcome, message)

    try:
        connector = build_connector(settings, entry)
    except ConnectorError as exc:
        return result("config error", str(exc))
    limit = entry.timeout.total_seconds()
    answer: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            answer.append(connector.check())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=run, name=f"check-{entry.name}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        return result("timed out", f"no answer within {limit:g}s")
    if not errors:
        return result("ok", answer[0] if answer else "ok")
    error = errors[0]
    if isinstance(error, ConnectorAuthError):
        return result("auth failed", str(error))
    if isinstance(error, ConnectorConfigError):
        return result("config error", str(error))
    if isinstance(error, ConnectorError):
        return result("unreachable", str(error))
    return result("failed", f"{type(error).__name__}: {error}")


@click.group("connectors")
def connectors_group() -> None:
    """The channels mentions come from."""


@connectors_group.command("check")
@click.argument("names", nargs=-1)
@click.pass_obj
def check_command(app: App, names: tuple[str, ...]) -> None:
    """Try each configured connector once (or only NAMES) and say ok, auth failed or unreachable, and why.

    Exits non-zero when any connector failed. Nothing is stored.
    """
    settings = app.settings
    entries = [entry for entry in settings.connectors if (entry.name in names if names else entry.enabled)]
    unknown = sorted(set(names) - {entry.name for entry in settings.connectors})
    if unknown:
        known = ", ".join(entry.name for entry in settings.connectors) or "none"
        raise UserError(f"no connector named {', '.join(unknown)} in the config (configured: {known})")
    if not entries:
        raise UserError("no enabled connector in the config (see the connectors: section)")
    failed = 0
    for entry in entries:
        outcome = check_connector(settings, entry)
        click.echo(outcome.line())
        failed += not outcome.ok
    if failed:
        raise WorkFailed(f"{failed} of {len(entries)} connector(s) failed the check")


@connectors_group.command("list")
def list_command() -> None:
    """The connector types that can be used in `type:` (built-in and installed plug-ins)."""
    from connectors import ConnectorError, available_types, connector_class

    for type_name in available_types():
        try:
            cls = connector_class(type_name)
        except ConnectorError as exc:
            click.echo(f"{type_name}\tunavailable: {exc}")
            continue
        click.echo(f"{type_name}\t{_summary(cls)}")


def _summary(cls: type) -> str:
    """First line of the connector module's docstring (or the class's)."""
    module = sys.modules.get(cls.__module__)
    doc = ((module.__doc__ if module else None) or cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else cls.__module__


def register(cli: click.Group) -> None:
    cli.add_command(connectors_group)
