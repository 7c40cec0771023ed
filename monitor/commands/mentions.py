"""`mentions export` and `mentions status`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.commands._output import output_stream, since_option
from monitor.mention_io import write_jsonl
from monitor.models import Status

if TYPE_CHECKING:
    from monitor.app import App


@click.group("mentions")
def mentions_group() -> None:
    """Stored mentions: export them, follow them up."""


@mentions_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--flagged", is_flag=True, help="Only mentions flagged as complaints.")
@click.option("--since", default=None, help="ISO date/time, or a duration back from the newest mention (24h, 7d).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here instead of stdout."
)
@click.pass_obj
def export_mentions(app: App, fmt: str, flagged: bool, since: str | None, out: Path | None) -> None:
    """Every stored mention with its classification, incident, reply draft and status."""
    # imported here, like in every command: `--help` loads this module too (SQLAlchemy)
    from monitor.exports import MENTION_EXTRA_FIELDS, MENTION_FIELDS, mention_rows, write_csv
    from monitor.storage.repository import newest_mention_time
    from monitor.storage.schema import now_utc

    with app.database.session() as session:
        since_dt = since_option(since, lambda: newest_mention_time(session) or now_utc())
        rows = mention_rows(session, flagged_only=flagged, since=since_dt)
        with output_stream(out) as stream:
            if fmt == "csv":
                count = write_csv(rows, (*MENTION_FIELDS, *MENTION_EXTRA_FIELDS), stream)
            else:
                count = write_jsonl(rows, stream)
    if out is not None:
        click.echo(f"wrote {count} mention(s) to {out}", err=True)


@mentions_group.command("status")
@click.argument("mention_id")
@click.argument("status", type=click.Choice([s.value for s in Status]))
@click.option("--note", default=None, help="Why (kept in the history).")
@click.pass_obj
def set_mention_status(app: App, mention_id: str, status: str, note: str | None) -> None:
    """Record a follow-up: new → acknowledged → replied → resolved, or dismissed.

    MENTION_ID is platform:id (e.g. x:1234) or a bare id when unambiguous.
    """
    from monitor.review import change_status
    from monitor.storage.repository import find_mention

    with app.database.writing() as session:
        row = find_mention(session, mention_id)
        old = row.status or "(not flagged)"
        change_status(session, row, Status(status), note=note)
        ref = f"{row.platform}:{row.external_id}"
    click.echo(f"{ref}: {old} → {status}")  # once it is committed, never before


def register(cli: click.Group) -> None:
    cli.add_command(mentions_group)
