"""`init`, `import` and `run`: getting mentions in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.errors import UserError, WorkFailed
from monitor.mention_io import LineError

if TYPE_CHECKING:
    from monitor.app import App


@click.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init_command(app: App, force: bool) -> None:
    """Write a commented config.yaml and create the database."""
    from monitor.config import DEFAULT_CONFIG_NAME
    from monitor.defaults import default_config_text

    target = app.config_path or Path(DEFAULT_CONFIG_NAME)
    keep = target.exists() and not force
    if not keep:
        if not target.parent.exists():
            raise UserError(f"folder does not exist: {target.parent}")
        target.write_text(default_config_text(target.resolve().parent), encoding="utf-8")
        click.echo(f"wrote {target}")
    app.config_path = target
    app.__dict__.pop("settings", None)
    app.database  # noqa: B018 - opening it creates and migrates it (an error is the one line said)
    if keep:
        click.echo(f"{target} exists; keeping it (use --force to overwrite)", err=True)
    click.echo(f"database ready: {app.database.engine.url.render_as_string(hide_password=True)}")


@click.command("import")
@click.argument("source", type=str)
@click.option("--platform", default="file", show_default=True, help="Platform for records that do not name one.")
@click.pass_obj
def import_command(app: App, source: str, platform: str) -> None:
    """Ingest a mention JSONL file (or - for stdin) through the whole pipeline."""
    from monitor import progress

    app.check_model()
    errors: list[LineError] = []
    if source == "-":
        with progress.counting("import", "mentions") as stored:
            report = app.pipeline.process_lines(sys.stdin, "import", platform, errors, stored)
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"no such file: {source}")
        total = progress.count_lines(path) if progress.shown() else None
        with (
            path.open(encoding="utf-8", errors="replace") as handle,
            progress.counting(f"import {path.name}", "mentions", total) as stored,
        ):
            report = app.pipeline.process_lines(handle, "import", platform, errors, stored)
    for error in errors:
        click.echo(f"rejected {error}", err=True)
    for reason in report.rejected:
        click.echo(f"rejected {reason}", err=True)
    for note in report.notes:
        click.echo(f"cut {note}", err=True)
    cut = f", {len(report.notes)} {'text' if len(report.notes) == 1 else 'texts'} cut" if report.notes else ""
    click.echo(
        f"{report.new} new, {report.duplicates} duplicates, {len(errors) + len(report.rejected)} rejected{cut} "
        f"({report.complaints} complaints flagged, {len(report.incidents_changed)} incidents updated)"
    )


@click.command("run")
@click.option("--once", is_flag=True, help="Poll every connector once, process, and exit.")
@click.pass_obj
def run_command(app: App, once: bool) -> None:
    """Poll the configured connectors: once, or as a daemon on their own intervals."""
    if not once:
        from monitor.daemon import run_daemon

        run_daemon(app)
        return
    from monitor.fleet import new_holder_id, record_poll
    from monitor.runner import enabled_connectors, poll_once  # connectors and the pipeline: only to poll

    entries = enabled_connectors(app.settings)
    if not entries:
        raise UserError("no enabled connector in the config (see the connectors: section)")
    app.check_model()
    failures = 0
    poller = f"{new_holder_id()} (run --once)"
    for entry in entries:
        result = poll_once(app.settings, entry, app.pipeline, app.database)
        click.echo(result.line())
        record_poll(app.database, entry.name, poller, result.outcome, result.summary, result.error)  # for `status`
        for item in result.skipped:
            click.echo(f"  skipped {item}", err=True)
        for reason in result.report.rejected:
            click.echo(f"  rejected {reason}", err=True)
        for note in result.report.notes:
            click.echo(f"  cut {note}", err=True)
        failures += 0 if result.ok else 1
    if failures:
        # What was fetched is stored; the exit code (1) tells cron and scripts that channels failed.
        counted = f"all {failures}" if failures == len(entries) else f"{failures} of {len(entries)}"
        raise WorkFailed(f"{counted} connector(s) failed")


def register(cli: click.Group) -> None:
    cli.add_command(init_command)
    cli.add_command(import_command)
    cli.add_command(run_command)
