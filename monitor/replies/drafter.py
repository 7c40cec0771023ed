"""Turning a complaint into a suggested public reply.

A draft is planned first (language, what to offer, which phrasing of each
step), then rendered from the templates and fitted to the platform's limit by
swapping in short phrasings — never by cutting text — and finally checked by
the linter. Every choice is a stable function of the mention, so drafting the
same mention twice gives the same text, while different mentions get
different phrasings.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.incidents.visibility import OPEN_STATUSES as OPEN_INCIDENT_STATUSES
from monitor.models import Classification, IncidentContext, Mention, ReplyDraft, Urgency
from monitor.replies.lint import content_problems, lint_draft, lint_steps, normalise_language, reply_length
from monitor.replies.personal_data import has_personal_data
from monitor.replies.settings import CATEGORIES, ReplySettings
from monitor.replies.templating import LanguageTemplates

STEPS = ("acknowledge", "clarify", "resolve", "check_back")
SHORTEN_ORDER = ("resolve", "clarify", "acknowledge", "check_back")
"""Which steps switch to their short phrasing first when a draft is too long."""

CACHE_SIZE = 16384
FITS_CACHE_SIZE = 4096
"""Shapes of draft kept, least recently used dropped first (each holds its renderings: a few KB)."""
MARK = "\ue000"
"""Where the @handle goes in a cached layout: a draft is its shape's text with the handle put in."""

_HANDLE_OK = re.compile(r"[A-Za-z0-9_.@-]{1,100}")


def you_for(lang: str, settings: ReplySettings) -> str:
    if lang == "id":
        return "Kakak" if settings.address == "kak" else "Anda"
    return "you"


_SALTS = ("offer", *STEPS)


def _stable_index(key: str, salt: str, count: int) -> int:
    """A choice among `count` that is a stable function of the mention (one hash per mention, cached)."""
    digest = _digest(key)
    at = 2 * _SALTS.index(salt)
    return int.from_bytes(digest[at : at + 2], "big") % count


@functools.lru_cache(maxsize=4096)
def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=2 * len(_SALTS)).digest()


def _step_file(resolution: str, incident: bool, step: str) -> str:
    """The template file of `step`: step 4 is the plan's resolution, step 2 differs inside an incident."""
    if step == "resolve":
        return resolution
    if step == "clarify" and incident:
        return "clarify_incident"
    return step


def author_handle(mention: Mention, settings: ReplySettings, tagged: frozenset[str] | None = None) -> str:
    """The @author prefix on platforms where replies tag the author; empty elsewhere or for an odd author.

    `tagged`: those platforms, lower-cased (else read from `settings`)."""
    if tagged is None:
        tagged = frozenset(p.lower() for p in settings.address_author_on)
    if mention.platform.lower() not in tagged:
        return ""
    author = mention.author.strip().lstrip("@")
    return "@" + author if _HANDLE_OK.fullmatch(author) else ""


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """Everything decided before rendering; `blocks` maps each step to the phrasing used."""

    lang: str
    category: str
    resolution: str
    """The template of step 4: "incident" or "resolve_<offer>"."""
    urgency: Urgency
    personal_data: bool
    incident: IncidentContext | None
    handle: str
    platform: str
    blocks: Mapping[str, str] = field(default_factory=dict)

    @property
    def critical(self) -> bool:
        return self.urgency is Urgency.CRITICAL

    @property
    def urgent(self) -> bool:
        return self.urgency.rank >= Urgency.HIGH.rank


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    parts: Mapping[str, str]
    label: str

    def with_handle(self, handle: str) -> Rendered:
        """This rendering (made with the MARK where the handle goes) addressed to `handle`."""
        if MARK not in self.text:
            return self
        return Rendered(self.text.replace(MARK, handle), self.parts, self.label)


class _Fits:
    """The renderings of one shape of draft, in the order `fit` tries them, made as they are needed."""

    def __init__(self, drafter: TemplateDrafter, plan: ReplyPlan) -> None:
        self.plan = plan
        self.drafter = drafter
        self.made: list[tuple[Rendered, int]] = []
        self._order = self._renderings()

    def _renderings(self) -> Iterator[Rendered]:
        drafter, plan = self.drafter, self.plan
        context = drafter.context(plan)
        yield drafter.render(plan, context=context)
        if drafter.settings.signature.strip():
            yield drafter.render(plan, signature=False, context=context)
        for count in range(1, len(SHORTEN_ORDER) + 1):
            for steps in itertools.combinations(SHORTEN_ORDER, count):
                yield drafter.render(plan, short=frozenset(steps), signature=False, context=context)

    def first_within(self, room: int) -> Rendered:
        """The first rendering whose text (without the handle) takes at most `room` characters."""
        index = 0
        while True:
            if index == len(self.made):
                rendered = next(self._order, None)
                if rendered is None:
                    return self.made[-1][0]  # all steps short: the shortest there is (lint says it is too long)
                length = reply_length(rendered.text.replace(MARK, ""), self.plan.platform)
                self.made.append((rendered, length))
            rendered, length = self.made[index]
            if length <= room:
                return rendered
            index += 1


class TemplateDrafter:
    """The ReplyDrafter stage: Jinja2 templates + the linter."""

    def __init__(self, settings: ReplySettings, brand_name: str, templates: Mapping[str, LanguageTemplates]) -> None:
        self.settings = settings
        self.brand_name = brand_name
        self.templates = templates
        self._layout_cache: dict[tuple[object, ...], str] = {}
        self._contexts: dict[tuple[object, ...], dict[str, Any]] = {}
        self._checked: dict[tuple[object, ...], list[str]] = {}
        self._fits: OrderedDict[tuple[object, ...], _Fits] = OrderedDict()
        self._step_checks: dict[tuple[object, ...], list[str]] = {}
        self._offers: dict[str, list[str]] = {}
        self._tagged = frozenset(p.lower() for p in settings.address_author_on)

    # -- planning ---------------------------------------------------------

    def allowed_offers(self, category: str) -> list[str]:
        allowed = self._offers.get(category)
        if allowed is None:
            offers = self.settings.strategy_for(category).offers
            allowed = [o for o in offers if o != "status_page" or self.settings.status_page_url]
            self._offers[category] = allowed
        return list(allowed)

    def plan(self, mention: Mention, classification: Classification, incident: IncidentContext | None) -> ReplyPlan:
        lang = normalise_language(classification.lang, self.settings.default_language)
        category = classification.category
        if category not in self.settings.strategy and category not in CATEGORIES:
            category = "other"
        key = f"{mention.platform}:{mention.id}"
        if incident is not None and incident.status not in OPEN_INCIDENT_STATUSES:
            incident = None
        if incident is not None:
            resolution = "incident"
        else:
            offers = self.allowed_offers(category)
            if not offers:
                resolution = "resolve_investigate"
            elif classification.urgency is Urgency.CRITICAL and "specialist" in offers:
                resolution = "resolve_specialist"  # priority handling: a person takes it on
            else:
                resolution = "resolve_" + offers[_stable_index(key, "offer", len(offers))]
        critical = classification.urgency is Urgency.CRITICAL
        steps = self.templates[lang].steps
        blocks = {}
        for step in STEPS:
            options = steps[_step_file(resolution, incident is not None, step)].blocks_for(critical)
            blocks[step] = options[_stable_index(key, step, len(options))]
        return ReplyPlan(
            lang=lang,
            category=category,
            resolution=resolution,
            urgency=classification.urgency,
            personal_data=has_personal_data(mention.text),
            incident=incident,
            handle=author_handle(mention, self.settings, self._tagged),
            platform=mention.platform.lower(),
            blocks=blocks,
        )

    def _step_file(self, plan: ReplyPlan, step: str) -> str:
        return _step_file(plan.resolution, plan.incident is not None, step)

    def with_variant(self, plan: ReplyPlan, index: int) -> ReplyPlan:
        """The plan with phrasing number `index` (wrapping) for every step; for the matrix linter."""
        blocks = {}
        for step in STEPS:
            options = self.templates[plan.lang].steps[self._step_file(plan, step)].blocks_for(plan.critical)
            blocks[step] = options[index % len(options)]
        return replace(plan, blocks=blocks)

    # -- rendering --------------------------------------------------------

    def context(self, plan: ReplyPlan) -> dict[str, Any]:
        """The templates' variables for this plan (shared between plans of the same shape: read only)."""
        key = (
            plan.lang,
            plan.category,
            plan.platform,
            plan.urgency,
            plan.personal_data,
            plan.incident is not None,
            plan.incident.size if plan.incident else 0,
        )
        context = self._contexts.get(key)
        if context is None:
            if len(self._contexts) >= CACHE_SIZE:
                self._contexts.clear()
            context = self._contexts[key] = self._context(plan)
        return context

    def _context(self, plan: ReplyPlan) -> dict[str, Any]:
        templates = self.templates[plan.lang]
        base: dict[str, Any] = {
            "you": you_for(plan.lang, self.settings),
            "category": plan.category,
            "lang": plan.lang,
            "brand": self.brand_name,
            "platform": plan.platform,
            "urgency": plan.urgency.value,
            "urgent": plan.urgent,
            "critical": plan.critical,
            "personal_data": plan.personal_data,
            "incident": plan.incident is not None,
            "incident_size": plan.incident.size if plan.incident else 0,
            "status_url": self.settings.status_page_url or "",
        }
        for part in ("topic", "feeling", "details"):
            base[part] = templates.category_part(plan.category, part, base)
        return base

    def render(
        self,
        plan: ReplyPlan,
        *,
        short: frozenset[str] = frozenset(),
        signature: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> Rendered:
        templates = self.templates[plan.lang]
        context = context if context is not None else self.context(plan)
        parts: dict[str, str] = {}
        used: list[str] = []
        for step in STEPS:
            step_template = templates.steps[self._step_file(plan, step)]
            block = step_template.short_for(plan.critical) if step in short else plan.blocks[step]
            parts[step] = step_template.render(block, context)
            used.append(f"{step}.{block}")
        signature_text = " ".join(self.settings.signature.split()) if signature else ""
        layout_key = (plan.lang, bool(plan.handle), signature_text, plan.incident is not None, *parts.values())
        shaped = self._layout_cache.get(layout_key)
        if shaped is None:
            layout = templates.layout.render(
                handle=MARK if plan.handle else "",
                signature=signature_text,
                incident=plan.incident is not None,
                lang=plan.lang,
                **parts,
            )
            if len(self._layout_cache) >= CACHE_SIZE:
                self._layout_cache.clear()
            shaped = self._layout_cache[layout_key] = " ".join(layout.split())
        text = shaped.replace(MARK, plan.handle) if plan.handle else shaped
        dropped = "" if signature or not self.settings.signature.strip() else " -signature"
        label = f"{plan.lang}/{plan.resolution} " + " ".join(used) + dropped
        return Rendered(text=text, parts=parts, label=label)

    def fit(self, plan: ReplyPlan) -> Rendered:
        """The fullest rendering within the platform's limit (or the shortest one, which lint flags).

        Optional text goes first (the signature), then steps switch to their short
        phrasing: as few as possible, those early in SHORTEN_ORDER first. Text is never cut.
        The renderings are made once per shape of draft (everything but the @handle) and
        kept; the handle only decides which of them is the first to fit.
        """
        key = (
            plan.lang, plan.category, plan.resolution, plan.urgency, plan.personal_data, plan.platform,
            plan.incident is not None, plan.incident.size if plan.incident else 0, bool(plan.handle),
            tuple(plan.blocks.items()),
        )  # fmt: skip
        fits = self._fits.get(key)
        if fits is None:
            fits = self._fits[key] = _Fits(self, replace(plan, handle=MARK if plan.handle else ""))
            if len(self._fits) > FITS_CACHE_SIZE:
                self._fits.popitem(last=False)
        else:
            self._fits.move_to_end(key)
        room = self.settings.limit_for(plan.platform) - reply_length(plan.handle, plan.platform)
        return fits.first_within(room).with_handle(plan.handle)

    # -- the stage --------------------------------------------------------

    def finish(
        self, plan: ReplyPlan, rendered: Rendered, mention: Mention, classification: Classification
    ) -> ReplyDraft:
        incident = plan.incident is not None
        if classification.category != plan.category:
            classification = replace(classification, category=plan.category)
        problems = lint_draft(
            rendered.text, mention, classification, self.settings, incident=incident, lang=plan.lang,
            addressee=plan.handle, content_checks=self._content_problems, shares_personal_data=plan.personal_data,
        )  # fmt: skip
        step_key = (plan.lang, incident, *rendered.parts.values())
        steps = self._step_checks.get(step_key)
        if steps is None:
            if len(self._step_checks) >= CACHE_SIZE:
                self._step_checks.clear()
            steps = self._step_checks[step_key] = lint_steps(rendered.parts, plan.lang, incident=incident)
        problems += [p for p in steps if p not in problems]
        return ReplyDraft(
            text=rendered.text,
            lang=plan.lang,
            ok=not problems,
            problems=tuple(problems),
            template=rendered.label[:200],
            # Fraud cases are never handled in public, whatever the post contains.
            needs_dm=plan.personal_data or plan.category == "security_fraud",
        )

    def _content_problems(
        self, content: str, lang: str, category: str, urgency: Urgency, incident: bool, shares_personal_data: bool
    ) -> list[str]:
        """`lint.content_problems`, remembered: drafts of the same shape share their words."""
        key = (content, lang, category, urgency, incident, shares_personal_data)
        problems = self._checked.get(key)
        if problems is None:
            if len(self._checked) >= CACHE_SIZE:
                self._checked.clear()
            problems = self._checked[key] = content_problems(
                content, lang, category, urgency, incident, shares_personal_data, settings=self.settings
            )
        return problems

    def draft(self, mention: Mention, classification: Classification, incident: IncidentContext | None) -> ReplyDraft:
        plan = self.plan(mention, classification, incident)
        return self.finish(plan, self.fit(plan), mention, classification)
