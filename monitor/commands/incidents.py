"""`incidents export` and `incidents show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.commands._output import output_stream, since_option
from monitor.errors import UserError
from monitor.mention_io import write_jsonl

if TYPE_CHECKING:
    from monitor.app import App

LISTED_BY_DEFAULT = ("emerging", "active", "resolved")


@click.group("incidents")
def incidents_group() -> None:
    """Incidents: many people reporting the same problem."""


@incidents_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "jsonl", "csv", "md"]),
    default="json",
    show_default=True,
    help="md: the incident briefs as Markdown (JSON and JSONL carry the brief under `brief`).",
)
@click.option("--since", default=None, help="Incidents seen since: ISO date/time or a duration (24h, 7d).")
@click.option("--status", default=None, type=click.Choice(["emerging", "active", "resolved", "merged"]))
@click.option("--id", "incident_id", default=None, help="Just this incident.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_obj
def export_incidents(
    app: App, fmt: str, since: str | None, status: str | None, incident_id: str | None, out: Path | None
) -> None:
    """Each incident with its fields, brief and member mentions (CSV: one row per incident–member)."""
    # imported here, like in every command: `--help` loads this module too (SQLAlchemy)
    from monitor.exports import INCIDENT_CSV_FIELDS, incident_member_rows, write_csv
    from monitor.incidents.brief.read import brief_context
    from monitor.incidents.cli import export_rows
    from monitor.storage.repository import newest_mention_time
    from monitor.storage.schema import now_utc

    with app.database.session() as session:
        since_dt = since_option(since, lambda: newest_mention_time(session) or now_utc())
        # Merged incidents are pointers to their survivor: listed only when asked for.
        statuses = status if (status or incident_id) else LISTED_BY_DEFAULT
        briefs = brief_context(app.settings) if fmt != "csv" else None
        rows = export_rows(session, since=since_dt, status=statuses, incident_id=incident_id, briefs=briefs)
    if incident_id is not None and not rows:
        raise UserError(f"no incident with id {incident_id!r}")
    with output_stream(out) as stream:
        if fmt == "json":
            json.dump(rows, stream, ensure_ascii=False, indent=2)
            stream.write("\n")
        elif fmt == "jsonl":
            write_jsonl(rows, stream)
        elif fmt == "md":
            from monitor.incidents.brief.markdown import render

            stream.write(render(rows, f"{app.settings.brand.name or 'Incident'} incident briefs"))
        else:
            write_csv(incident_member_rows(rows), INCIDENT_CSV_FIELDS, stream)


@incidents_group.command("show")
@click.argument("incident_id")
@click.pass_obj
def show_command(app: App, incident_id: str) -> None:
    """One incident in the terminal: its facts, its brief and the timeline of its reports."""
    from monitor.incidents.brief.read import brief_context
    from monitor.incidents.cli import show_incident

    with app.database.session() as session:
        click.echo(show_incident(session, incident_id, briefs=brief_context(app.settings)))


@incidents_group.command("status")
@click.argument("incident_id")
@click.argument("status", type=click.Choice(["emerging", "active", "resolved"]))
@click.pass_obj
def status_command(app: App, incident_id: str, status: str) -> None:
    """Say an incident is emerging, active or resolved (the review inbox does the same)."""
    from monitor.review import find_incident, set_incident_status

    with app.database.writing() as session:
        row = find_incident(session, incident_id)
        old = row.status
        set_incident_status(session, row, status)
    click.echo(f"{incident_id}: {old} → {status}")


@incidents_group.command("merge")
@click.argument("incident_id")
@click.argument("other_id")
@click.pass_obj
def merge_command(app: App, incident_id: str, other_id: str) -> None:
    """Fold OTHER_ID into INCIDENT_ID: its reports move over and its id points to INCIDENT_ID."""
    from monitor.review import find_incident, merge_incidents

    with app.database.writing() as session:
        moved = merge_incidents(session, find_incident(session, incident_id), find_incident(session, other_id))
    click.echo(f"merged {other_id} into {incident_id} ({moved} reports moved)")


@incidents_group.command("drop")
@click.argument("incident_id")
@click.argument("mention_id")
@click.pass_obj
def drop_command(app: App, incident_id: str, mention_id: str) -> None:
    """Take a mention that does not belong out of an incident (MENTION_ID: platform:id)."""
    from monitor.review import drop_member, find_incident
    from monitor.storage.repository import find_mention, mention_ref

    with app.database.writing() as session:
        row, mention = find_incident(session, incident_id), find_mention(session, mention_id)
        drop_member(session, row, mention)
        ref = mention_ref(mention)
    click.echo(f"dropped {ref} from {incident_id}")


def register(cli: click.Group) -> None:
    cli.add_command(incidents_group)
