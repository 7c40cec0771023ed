"""The template matrix: every phrasing × category × language × urgency × platform × incident.

Each combination is drafted from sample mentions (with and without personal
data) exactly as the pipeline would, also in its fully shortened form, and
run through the same checks as a live draft.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor.models import Classification, IncidentContext, Mention, ReplyDraft, Urgency
from monitor.replies.drafter import SHORTEN_ORDER, ReplyPlan, TemplateDrafter
from monitor.replies.settings import CATEGORIES, LANGUAGES

SAMPLE_PLATFORMS = ("x", "bluesky", "mastodon", "reddit", "rss")
# The longest handles each platform allows (X: 15 characters), so limits are checked at their tightest.
SAMPLE_AUTHORS = {
    "x": "a_long_handle15",
    "bluesky": "someone-with-a-long-name.bsky.social",
    "mastodon": "someone_long@mastodon.example.social",
}
PLAIN_TEXT = {
    "en": "I've been waiting for days and nobody answers. Really disappointed.",
    "id": "Sudah berhari-hari menunggu dan belum ada jawaban. Kecewa sekali.",
}
PERSONAL_TEXT = {
    "en": "Charged twice! TRX-2026-88812, card 4111 1111 1111 1111, call me on 0812-3456-7890 or budi@example.com",
    "id": "Saldo kepotong 2x, TRX-2026-88812, NIK 3201234567890123, hubungi 0812 3456 7890 atau budi@example.com",
}
SAMPLE_INCIDENT = IncidentContext(id="sample", title="sample", category="other", size=12, status="active")
_EVENT_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MatrixFailure:
    combination: str
    problems: tuple[str, ...]
    text: str


@dataclass(slots=True)
class MatrixResult:
    combinations: int = 0
    drafts: int = 0
    failures: list[MatrixFailure] = field(default_factory=list)
    dimensions: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class MatrixFilter:
    """Restrict the matrix (empty: everything), e.g. while editing one language's templates."""

    langs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    @staticmethod
    def pick(values: Iterable[str], wanted: tuple[str, ...]) -> list[str]:
        values = list(values)
        return [v for v in values if v in wanted] if wanted else values


def _sample_mention(platform: str, lang: str, personal: bool, serial: int) -> Mention:
    return Mention(
        id=f"sample-{serial}",
        platform=platform,
        author=SAMPLE_AUTHORS.get(platform, "someone"),
        text=(PERSONAL_TEXT if personal else PLAIN_TEXT)[lang],
        created_at=_EVENT_TIME,
        lang=lang,
    )


def _categories(drafter: TemplateDrafter) -> list[str]:
    extra = sorted(set(drafter.settings.strategy) - set(CATEGORIES))
    return [*CATEGORIES, *extra]


def _platforms(drafter: TemplateDrafter) -> list[str]:
    extra = sorted(set(drafter.settings.max_length) - set(SAMPLE_PLATFORMS))
    return [*SAMPLE_PLATFORMS, *extra]


def _resolutions(drafter: TemplateDrafter, plan: ReplyPlan) -> list[str]:
    if plan.incident is not None:
        return ["incident"]
    offers = drafter.allowed_offers(plan.category)
    return [f"resolve_{offer}" for offer in offers] or ["resolve_investigate"]


def _variant_count(drafter: TemplateDrafter, plan: ReplyPlan) -> int:
    steps = drafter.templates[plan.lang].steps
    files = ("acknowledge", "clarify_incident" if plan.incident else "clarify", "check_back", plan.resolution)
    return max(len(steps[name].blocks_for(plan.critical)) for name in files)


def _combinations(
    drafter: TemplateDrafter, only: MatrixFilter
) -> Iterator[tuple[str, Mention, Classification, IncidentContext | None]]:
    serial = 0
    for lang in only.pick(LANGUAGES, only.langs):
        for category in only.pick(_categories(drafter), only.categories):
            for urgency in Urgency:
                for platform in only.pick(_platforms(drafter), only.platforms):
                    for incident in (None, replace(SAMPLE_INCIDENT, category=category)):
                        for personal in (False, True):
                            serial += 1
                            mention = _sample_mention(platform, lang, personal, serial)
                            classification = Classification(
                                lang=lang, is_complaint=True, complaint_score=0.9, urgency=urgency, category=category
                            )
                            name = (
                                f"{lang} {category} {urgency.value} {platform}"
                                f" {'incident' if incident else 'single'} {'personal-data' if personal else 'plain'}"
                            )
                            yield name, mention, classification, incident


def lint_matrix(drafter: TemplateDrafter, only: MatrixFilter | None = None) -> MatrixResult:
    only = only or MatrixFilter()
    sizes = (
        len(only.pick(LANGUAGES, only.langs)),
        len(only.pick(_categories(drafter), only.categories)),
        len(Urgency),
        len(only.pick(_platforms(drafter), only.platforms)),
    )
    result = MatrixResult(
        dimensions="{} languages × {} categories × {} urgencies × {} platforms × incident/single"
        " × plain/personal data; every phrasing, full and shortened".format(*sizes)
    )
    # Many combinations render the same text (e.g. urgencies none/low/medium read alike); a draft's
    # problems depend only on this key, so each distinct one is checked once.
    verdicts: dict[tuple[object, ...], ReplyDraft] = {}
    for name, mention, classification, incident in _combinations(drafter, only):
        result.combinations += 1
        base = drafter.plan(mention, classification, incident)
        for resolution in _resolutions(drafter, base):
            plan = replace(base, resolution=resolution)
            for index in range(_variant_count(drafter, plan)):
                variant = drafter.with_variant(plan, index)
                for rendered in (
                    drafter.fit(variant),
                    drafter.render(variant, short=frozenset(SHORTEN_ORDER), signature=False),
                ):
                    result.drafts += 1
                    key = (
                        rendered.text, tuple(sorted(rendered.parts.items())), mention.text, mention.platform,
                        variant.category, variant.lang, classification.urgency is Urgency.CRITICAL,
                        variant.incident is not None, variant.personal_data,
                    )  # fmt: skip
                    draft = verdicts.get(key) or verdicts.setdefault(
                        key, drafter.finish(variant, rendered, mention, classification)
                    )
                    if not draft.ok:
                        result.failures.append(MatrixFailure(f"{name} [{rendered.label}]", draft.problems, draft.text))
    return result
