"""`digest`: what the team reads every morning."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.commands._output import output_stream, since_option

if TYPE_CHECKING:
    from monitor.app import App


@click.command("digest")
@click.option(
    "--format", "fmt", type=click.Choice(["html", "md", "text"]), default=None, help="Default: digest.format in config."
)
@click.option(
    "--since", default=None, help="ISO date/time or a duration back from the newest mention (default: digest.lookback)."
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="The digest as it was at this time: incidents, reports and ages then (default: the newest mention).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here instead of stdout."
)
@click.pass_obj
def digest_command(app: App, fmt: str | None, since: str | None, as_of: str | None, out: Path | None) -> None:
    """Incidents, complaints by urgency with reply drafts, and what is still waiting."""
    # imported here, like in every command: `--help` loads this module too (SQLAlchemy, jinja2)
    from monitor.digest import build_digest, render_digest
    from monitor.storage.repository import newest_mention_time
    from monitor.storage.schema import now_utc

    fmt = fmt or app.settings.digest.format
    with app.database.session() as session:
        newest = newest_mention_time(session, app.settings.ingest.max_future) or now_utc()
        as_of_dt = since_option(as_of, lambda: newest)
        anchor = as_of_dt or newest
        digest = build_digest(session, app.settings, since=since_option(since, lambda: anchor), as_of=as_of_dt)
    with output_stream(out) as stream:
        stream.write(render_digest(digest, fmt))
    if out is not None:
        click.echo(f"wrote {fmt} digest to {out}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(digest_command)
