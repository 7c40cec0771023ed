"""`complaint-monitor replies …`: check the reply templates, re-draft one stored mention."""

from __future__ import annotations

from dataclasses import replace

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.app import App
from monitor.errors import UserError
from monitor.models import Classification, IncidentContext, ReplyDraft, Urgency
from monitor.replies.drafter import OPEN_INCIDENT_STATUSES
from monitor.storage.repository import find_mention, mention_from_row, mention_ref
from monitor.storage.schema import (
    ClassificationRow,
    IncidentMemberRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    ReplyDraftRow,
    now_utc,
)

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
    raise UserError(f"{len(result.failures)} of {result.drafts} drafts break a rule")


@replies.command("draft")
@click.argument("mention_id")
@click.pass_obj
def draft_command(app: App, mention_id: str) -> None:
    """Re-draft the reply to one stored mention (ID: platform:external_id, or an external id if unique).

    Uses the corrected category and urgency when a person labelled the mention,
    and the incident it belongs to. The new draft replaces the stored one.
    """
    drafter = app.reply_drafter
    with app.database.session() as session:
        row = find_mention(session, mention_id)
        mention = mention_from_row(row)
        classification = effective_classification(session, row)
        if not classification.is_complaint:
            raise UserError(f"{mention_ref(row)} is not flagged as a complaint: no reply to draft")
        incident = incident_of(session, row.pk)
        draft = drafter.draft(mention, classification, incident)
        store_draft(session, row.pk, draft)
    click.echo(draft.text)
    click.echo("")
    status = "ready" if draft.ok else "needs review: " + "; ".join(draft.problems)
    details = [mention_ref(row), f"lang {draft.lang}", f"category {classification.category}"]
    if incident is not None:
        details.append(f"incident {incident.id}")
    if draft.needs_dm:
        details.append("continue by DM")
    click.echo(" · ".join(details))
    click.echo(f"template: {draft.template}")
    click.echo(status)


def _urgency(value: str | None, fallback: Urgency) -> Urgency:
    try:
        return Urgency(value) if value else fallback
    except ValueError:
        return fallback


def effective_classification(session: Session, row: MentionRow) -> Classification:
    """The stored verdict, with a person's correction (label) winning over the model."""
    stored = session.get(ClassificationRow, row.pk)
    if stored is None:
        raise UserError(f"mention {mention_ref(row)} has not been classified yet")
    classification = Classification(
        lang=stored.lang,
        is_complaint=stored.is_complaint,
        complaint_score=stored.complaint_score,
        urgency=_urgency(stored.urgency, Urgency.MEDIUM),
        category=stored.category,
        reasons=tuple(str(r) for r in stored.reasons or ()),
        model_version=stored.model_version,
    )
    label = session.get(LabelRow, row.pk)
    if label is None:
        return classification
    return replace(
        classification,
        is_complaint=classification.is_complaint if label.is_complaint is None else label.is_complaint,
        urgency=_urgency(label.urgency, classification.urgency),
        category=label.category or classification.category,
    )


def incident_of(session: Session, mention_pk: int) -> IncidentContext | None:
    """The open incident (emerging or active) the mention belongs to, following merges, if any."""
    incident_ids = session.scalars(
        select(IncidentMemberRow.incident_id).where(IncidentMemberRow.mention_pk == mention_pk)
    ).all()
    for incident_id in incident_ids:
        incident = session.get(IncidentRow, incident_id)
        seen: set[str] = set()
        while incident is not None and incident.merged_into and incident.id not in seen:
            seen.add(incident.id)
            incident = session.get(IncidentRow, incident.merged_into)
        if incident is not None and incident.status in OPEN_INCIDENT_STATUSES:
            return IncidentContext(
                id=incident.id, title=incident.title, category=incident.category, size=incident.size,
                status=incident.status,
            )  # fmt: skip
    return None


def store_draft(session: Session, mention_pk: int, draft: ReplyDraft) -> None:
    row = session.get(ReplyDraftRow, mention_pk)
    if row is None:
        row = ReplyDraftRow(mention_pk=mention_pk)
        session.add(row)
    row.text = draft.text
    row.lang = draft.lang
    row.ok = draft.ok
    row.problems = list(draft.problems)
    row.template = draft.template
    row.needs_dm = draft.needs_dm
    row.drafted_at = now_utc()
