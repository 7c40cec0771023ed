"""`complaint-monitor replies …`: check the reply templates, re-draft one stored mention."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.errors import UserError, WorkFailed

if TYPE_CHECKING:
    from monitor.app import App

MAX_FAILURES_SHOWN = 20


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    cli.add_command(replies)


@click.group()
def replies() -> None:
    """Suggested public replies: check the templates, re-draft a mention."""


@replies.command("lint")
@click.option("--lang", "langs", multiple=True, help="Only this language (repeatable): en, id.")
@click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")
@click.option("--platform", "platforms", multiple=True, help="Only this platform (repeatable).")
@click.option("--show", type=click.IntRange(min=0), default=MAX_FAILURES_SHOWN, show_default=True,
              help="Failures to print in full.")  # fmt: skip
@click.pass_obj
def lint_command(
    app: App, langs: tuple[str, ...], categories: tuple[str, ...], platforms: tuple[str, ...], show: int
) -> None:
    """Render every template × category × language × urgency × platform × incident and check every rule.

    Exits non-zero when any draft breaks a rule.
    """
    from monitor.replies import TemplateDrafter
    from monitor.replies.matrix import MatrixFilter, lint_matrix
    from monitor.replies.settings import LANGUAGES

    unknown = [lang for lang in langs if lang not in LANGUAGES]
    if unknown:
        raise UserError(f"--lang: unknown language {', '.join(unknown)} (known: {', '.join(LANGUAGES)})")
    drafter = app.reply_drafter  # building it already checks that every template loads and renders
    if not isinstance(drafter, TemplateDrafter):
        raise UserError("the reply drafter in use is not template based: nothing to lint")
    result = lint_matrix(drafter, MatrixFilter(langs, categories, platforms))
    if result.combinations == 0:
        raise UserError("no combination matches --lang/--category/--platform")
    click.echo(f"checked {result.drafts} drafts over {result.combinations} combinations ({result.dimensions})")
    if result.ok:
        click.echo("all drafts pass")
        return
    for failure in result.failures[:show]:
        click.echo(f"FAIL {failure.combination}")
        for problem in failure.problems:
            click.echo(f"  - {problem}")
        click.echo(f"  | {failure.text}")
    if len(result.failures) > show:
        click.echo(f"… and {len(result.failures) - show} more")
    raise WorkFailed(f"{len(result.failures)} of {result.drafts} drafts break a rule")


@replies.command("draft")
@click.argument("mention_id")
@click.pass_obj
def draft_command(app: App, mention_id: str) -> None:
    """Re-draft the reply to one stored mention (ID: platform:external_id, or an external id if unique).

    Uses the corrected category and urgency when a person labelled the mention,
    and the incident it belongs to. The new draft replaces the stored one.
    """
    # imported here, like in every command: `--help` loads this module too (SQLAlchemy)
    from monitor.incidents.visibility import open_incident_of
    from monitor.storage.repository import find_mention, mention_ref

    with app.database.writing() as session:
        row = find_mention(session, mention_id)
        draft = app.pipeline.redraft(session, row)
        if draft is None:
            raise UserError(f"{mention_ref(row)} is not flagged as a complaint: no reply to draft")
        label = row.label
        category = (label.category if label and label.category else None) or (
            row.classification.category if row.classification else "other"
        )
        incident = open_incident_of(session, row.pk)
    click.echo(draft.text)
    click.echo("")
    status = "ready" if draft.ok else "needs review: " + "; ".join(draft.problems)
    details = [mention_ref(row), f"lang {draft.lang}", f"category {category}"]
    if incident is not None:
        details.append(f"incident {incident.id}")
    if draft.needs_dm:
        details.append("continue by DM")
    click.echo(" · ".join(details))
    click.echo(f"template: {draft.template}")
    click.echo(status)
