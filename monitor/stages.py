"""The pipeline's stage interfaces.

connector → normalise → store → language + classify → incidents → reply draft → stored.

Each stage is a small object behind one of these protocols, so a better
classifier, incident detector or reply drafter drops in without touching
the others. `monitor.pipeline` wires them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from monitor.incidents.text import TextFeatures
from monitor.models import Classification, IncidentContext, Mention, ReplyDraft, Urgency


class MentionClassifier(Protocol):
    """Language, complaint yes/no + score, urgency and category for a batch of mentions."""

    version: str

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]: ...


@dataclass(frozen=True, slots=True)
class StoredComplaint:
    """A complaint that is already in the store, ready for incident assignment."""

    mention_pk: int
    mention: Mention
    classification: Classification
    features: TextFeatures | None = None
    """Its text features for incident assignment, when already worked out (see monitor.prepare)."""


@dataclass(slots=True)
class IncidentOutcome:
    """What incident assignment changed.

    `memberships` maps a mention pk to the incident it belongs to now, for every
    mention whose incident changed in this call (old members included when an
    incident was born, grew or merged). `urgency_floor` gives the lowest urgency
    such a member may have because it is part of that incident.
    """

    memberships: dict[int, IncidentContext] = field(default_factory=dict)
    urgency_floor: dict[int, Urgency] = field(default_factory=dict)
    recomputed: set[int] = field(default_factory=set)
    """Mentions whose membership was recomputed by a replay (a late batch, another writer): their urgency
    goes back to their own before `urgency_floor` applies, and a mention in `recomputed` but not in
    `memberships` is in no incident now."""
    changed_incidents: set[str] = field(default_factory=set)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Side effects (alerts) to run once the batch is committed: a rolled-back batch announces nothing."""

    def deliver(self) -> None:
        for action in self.after_commit:
            action()
        self.after_commit.clear()


@dataclass(frozen=True, slots=True)
class WriterProgress:
    """The newest mention (in event order) one stream of mentions (an import, a poll) has stored so far."""

    writer: str
    at: datetime
    platform: str
    external_id: str


class IncidentAssigner(Protocol):
    """Groups complaints into incidents, in event time, persisting incidents itself.

    With `progress`, the stream that stored `complaints` is registered as a writer: while other streams
    write too, complaints beyond the oldest position among them wait, and a later call places them."""

    def assign(
        self, session: Session, complaints: Sequence[StoredComplaint], progress: WriterProgress | None = None
    ) -> IncidentOutcome: ...

    def settled(self, session: Session, writer: str) -> bool:
        """Whether `writer` is not registered and no complaint waits to be placed (nothing for `finish`)."""
        ...

    def finish(self, session: Session, writer: str) -> IncidentOutcome:
        """The stream ended: deregister it and place what the other writers' positions now allow."""
        ...


class ReplyDrafter(Protocol):
    """A suggested public reply for one complaint (never posted automatically)."""

    def draft(
        self, mention: Mention, classification: Classification, incident: IncidentContext | None
    ) -> ReplyDraft: ...
