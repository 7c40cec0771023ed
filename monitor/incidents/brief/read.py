"""Briefs of stored incidents: members read with one column-only query, then `build_brief`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.incidents.brief.build import Brief, BriefMention, build_brief
from monitor.incidents.brief.lexicon import Lexicon, build_lexicon
from monitor.incidents.brief.settings import BriefSettings
from monitor.storage.schema import ClassificationRow, IncidentMemberRow, MentionRow

if TYPE_CHECKING:
    from monitor.config import Settings


@dataclass(frozen=True)
class BriefContext:
    settings: BriefSettings
    lexicon: Lexicon
    min_authors: int = 3

    def build(
        self, members: Sequence[BriefMention], category: str = "other", raised_at: datetime | None = None
    ) -> Brief | None:
        return build_brief(members, self.lexicon, self.settings, category, self.min_authors, raised_at)


def brief_context(settings: Settings) -> BriefContext:
    """The config's briefs section, with the brand's names (its other names count as its services)."""
    names = tuple(settings.brand.names)
    return BriefContext(
        settings.briefs,
        build_lexicon(settings.briefs, settings.brand.name or "", names),
        settings.incidents.min_authors,
    )


def default_context() -> BriefContext:
    settings = BriefSettings()
    return BriefContext(settings, build_lexicon(settings))


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def load_members(session: Session, incident_ids: Iterable[str]) -> dict[str, list[BriefMention]]:
    """Each incident's member reports, oldest first (only the columns a brief reads)."""
    ids = list(incident_ids)
    out: dict[str, list[BriefMention]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(
            IncidentMemberRow.incident_id,
            MentionRow.platform,
            MentionRow.external_id,
            MentionRow.author,
            MentionRow.created_at,
            MentionRow.text,
            MentionRow.url,
            MentionRow.source_lang,
            ClassificationRow.lang,
        )
        .join(MentionRow, MentionRow.pk == IncidentMemberRow.mention_pk)
        .outerjoin(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .where(IncidentMemberRow.incident_id.in_(ids))
        .order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
    )
    for incident_id, platform, external_id, author, created_at, text, url, source_lang, lang in rows:
        out[incident_id].append(
            BriefMention(
                f"{platform}:{external_id}",
                platform,
                author or "",
                _utc(created_at),
                text or "",
                url,
                lang or source_lang,
            )
        )
    return out


def from_export_members(members: Sequence[Mapping[str, Any]]) -> list[BriefMention]:
    """The member dicts `incidents export` already holds, as brief input (no second query)."""
    return [
        BriefMention(
            f"{m['platform']}:{m['id']}",
            m["platform"],
            m.get("author") or "",
            _utc(datetime.fromisoformat(str(m["created_at"]).replace("Z", "+00:00"))),
            m.get("text") or "",
            m.get("url"),
            m.get("lang"),
        )
        for m in members
    ]


def briefs_for(
    session: Session, incidents: Iterable[tuple[str, str, datetime | None]], context: BriefContext
) -> dict[str, Brief | None]:
    """`incidents`: (id, category, raised_at) triples."""
    triples = list(incidents)
    members = load_members(session, [i for i, _, _ in triples])
    return {i: context.build(members[i], category, raised) for i, category, raised in triples}
