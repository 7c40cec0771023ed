"""Loading the reply templates and rendering their blocks.

Templates live in templates/replies/<lang>/ (bundled) and, per brand, in the
folder named by `replies.templates_dir`, which is searched first. Everything
that can be wrong with a template is found here, when the drafter is built:
a missing file, a syntax error, an unknown variable (even in a branch sample
data would not reach) or a block that fails to render.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    meta,
)

from monitor.errors import UserError
from monitor.replies.settings import LANGUAGES
from templates import TEMPLATES_DIR

BUNDLED_DIR = TEMPLATES_DIR / "replies"

RESOLUTIONS = ("refund", "replacement", "specialist", "status_page", "investigate")
"""`investigate` is used when a category allows no offer."""

STEP_FILES = (
    "acknowledge", "clarify", "clarify_incident", "check_back", "incident", *(f"resolve_{name}" for name in RESOLUTIONS)
)  # fmt: skip

CATEGORY_VARIABLES = frozenset(
    {
        "you", "category", "lang", "brand", "platform", "urgency", "urgent", "critical",
        "personal_data", "incident", "incident_size", "status_url",
    }
)  # fmt: skip
STEP_VARIABLES = CATEGORY_VARIABLES | {"topic", "feeling", "details"}
LAYOUT_VARIABLES = frozenset(
    {"handle", "acknowledge", "clarify", "resolve", "check_back", "signature", "incident", "lang"}
)
CATEGORY_PARTS = ("topic", "feeling", "details")

_VARIANT = re.compile(r"v\d+")
_PRIORITY_VARIANT = re.compile(r"priority_v\d+")


class ReplyTemplateError(UserError):
    """A reply template cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """One step's phrasings: `variants` for normal tone, `priority` for critical complaints."""

    name: str
    template: Template
    variants: tuple[str, ...]
    priority: tuple[str, ...]
    short: str
    priority_short: str
    uses: tuple[str, ...]
    """The variables the template reads: a rendering depends on nothing else, so it is cached on them."""
    _cache: dict[tuple[Any, ...], str] = field(default_factory=dict, compare=False, repr=False)

    def blocks_for(self, critical: bool) -> tuple[str, ...]:
        return self.priority if critical and self.priority else self.variants

    def short_for(self, critical: bool) -> str:
        return self.priority_short if critical else self.short

    def render(self, block: str, context: Mapping[str, Any]) -> str:
        key = (block, *(context.get(name) for name in self.uses))
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = render_block(self.template, block, context)
        return text


@dataclass(frozen=True, slots=True)
class LanguageTemplates:
    lang: str
    layout: Template
    category: Template
    steps: Mapping[str, StepTemplate]
    category_uses: tuple[str, ...]
    _cache: dict[tuple[Any, ...], str] = field(default_factory=dict, compare=False, repr=False)

    def category_part(self, category: str, part: str, context: Mapping[str, Any]) -> str:
        block = f"{category}_{part}"
        if block not in self.category.blocks:
            block = f"other_{part}"
        key = (block, *(context.get(name) for name in self.category_uses))
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = render_block(self.category, block, context)
        return text


def render_block(template: Template, block: str, context: Mapping[str, Any]) -> str:
    """One block of a template, whitespace collapsed (replies are a single paragraph)."""
    text = "".join(template.blocks[block](template.new_context(dict(context))))
    return " ".join(text.split())


@lru_cache(maxsize=16)
def build_environment(override_dir: Path | None) -> Environment:
    """One environment per override folder, kept: Jinja recompiles a template when its file changes."""
    loaders = [FileSystemLoader(str(BUNDLED_DIR))]
    if override_dir is not None:
        loaders.insert(0, FileSystemLoader(str(override_dir)))
    # Plain text: autoescape off (the digest escapes when it shows a draft).
    return Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=256)
def _variables_used(env: Environment, source: str) -> tuple[str, ...]:
    return tuple(sorted(meta.find_undeclared_variables(env.parse(source))))


def _where(env: Environment, name: str) -> str:
    try:
        _, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        return filename or name
    except TemplateNotFound:
        return name


def _load(env: Environment, name: str, allowed: frozenset[str]) -> Template:
    return _load_with_uses(env, name, allowed)[0]


def _load_with_uses(env: Environment, name: str, allowed: frozenset[str]) -> tuple[Template, tuple[str, ...]]:
    try:
        source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    except TemplateNotFound:
        raise ReplyTemplateError(f"reply template {name} not found (bundled folder: {BUNDLED_DIR})") from None
    try:
        uses = _variables_used(env, source)
        unknown = sorted(set(uses) - allowed)
        template = env.get_template(name)
    except TemplateSyntaxError as exc:
        raise ReplyTemplateError(f"{filename}:{exc.lineno}: template syntax error: {exc.message}") from None
    if unknown:
        raise ReplyTemplateError(
            f"{filename}: unknown variable {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )
    return template, uses


def _step(env: Environment, lang: str, name: str) -> StepTemplate:
    path = f"{lang}/{name}.j2"
    template, uses = _load_with_uses(env, path, STEP_VARIABLES)
    blocks = list(template.blocks)
    variants = tuple(b for b in blocks if _VARIANT.fullmatch(b))
    priority = tuple(b for b in blocks if _PRIORITY_VARIANT.fullmatch(b))
    where = _where(env, path)
    if not variants:
        raise ReplyTemplateError(f"{where}: needs at least one phrasing block named v1")
    if "short" not in blocks:
        raise ReplyTemplateError(f"{where}: needs a block named short (used to fit the length limit)")
    return StepTemplate(
        name=name,
        template=template,
        variants=variants,
        priority=priority,
        short="short",
        priority_short="priority_short" if "priority_short" in blocks else "short",
        uses=uses,
    )


def load_language(env: Environment, lang: str) -> LanguageTemplates:
    layout = _load(env, f"{lang}/reply.j2", LAYOUT_VARIABLES)
    category, category_uses = _load_with_uses(env, f"{lang}/category.j2", CATEGORY_VARIABLES)
    missing = [f"other_{part}" for part in CATEGORY_PARTS if f"other_{part}" not in category.blocks]
    if missing:
        raise ReplyTemplateError(f"{_where(env, f'{lang}/category.j2')}: missing block {', '.join(missing)}")
    steps = {name: _step(env, lang, name) for name in STEP_FILES}
    return LanguageTemplates(lang=lang, layout=layout, category=category, steps=steps, category_uses=category_uses)


def sample_contexts(lang: str, you: str) -> list[dict[str, Any]]:
    """Contexts that reach every branch a template may take on its flags."""
    contexts = []
    for personal_data, incident, urgency, status_url in itertools.product(
        (False, True), (False, True), ("medium", "high", "critical"), ("", "https://status.example.com")
    ):
        contexts.append(
            {
                "you": you, "category": "other", "lang": lang, "brand": "Brand", "platform": "x",
                "urgency": urgency, "urgent": urgency != "medium", "critical": urgency == "critical",
                "personal_data": personal_data, "incident": incident, "incident_size": 5 if incident else 0,
                "status_url": status_url, "topic": "the problem", "feeling": "frustrating", "details": "the details",
            }
        )  # fmt: skip
    return contexts


_RENDER_CHECKED: set[tuple[object, ...]] = set()
"""Template objects already rendered with sample data (Jinja hands out new objects when a file changes)."""


def check_renders(templates: LanguageTemplates, you: str) -> None:
    """Render every block with sample data: a failure here is an error now, not a blank reply later."""
    key = (you, templates.layout, templates.category, *(step.template for step in templates.steps.values()))
    if key in _RENDER_CHECKED:
        return
    contexts = sample_contexts(templates.lang, you)

    def attempt(template: Template, block: str | None, context: Mapping[str, Any]) -> None:
        try:
            if block is None:
                template.render(**context)
            else:
                render_block(template, block, context)
        except Exception as exc:  # noqa: BLE001 - whatever a template does wrong, name the file
            what = f"block {block}" if block else "template"
            raise ReplyTemplateError(f"{template.filename}: {what} cannot be rendered: {exc}") from None

    for context in contexts:
        category_context = {k: v for k, v in context.items() if k in CATEGORY_VARIABLES}
        for block in templates.category.blocks:
            attempt(templates.category, block, category_context)
        for step in templates.steps.values():
            for block in step.template.blocks:
                attempt(step.template, block, context)
    layout_context = {name: name for name in LAYOUT_VARIABLES} | {"incident": False, "lang": templates.lang}
    attempt(templates.layout, None, layout_context)
    attempt(templates.layout, None, layout_context | {"incident": True})
    _RENDER_CHECKED.add(key)


def load_templates(override_dir: Path | None, you_by_lang: Mapping[str, str]) -> dict[str, LanguageTemplates]:
    if override_dir is not None and not override_dir.is_dir():
        raise ReplyTemplateError(f"replies.templates_dir: folder not found: {override_dir}")
    env = build_environment(override_dir)
    loaded = {}
    for lang in LANGUAGES:
        templates = load_language(env, lang)
        check_renders(templates, you_by_lang[lang])
        loaded[lang] = templates
    return loaded


__all__ = [
    "BUNDLED_DIR",
    "LanguageTemplates",
    "ReplyTemplateError",
    "StepTemplate",
    "load_templates",
    "render_block",
]
