"""Suggested public replies to complaints: five steps, the customer's language, no private detail.

    drafter = build_drafter(settings.replies, settings.brand, settings.base_dir)
    draft = drafter.draft(mention, classification, incident_or_none)

Drafts are for a person to send; nothing is ever posted automatically.

The config imports `monitor.replies.settings`, and so this package, in every
command: the drafter, templates (jinja2) and checks load on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.replies.settings import LANGUAGES, ReplySettings

if TYPE_CHECKING:
    from monitor.config import BrandSettings
    from monitor.replies.drafter import TemplateDrafter
    from monitor.replies.lint import lint_draft, reply_length
    from monitor.replies.personal_data import find_personal_data
    from monitor.replies.templating import ReplyTemplateError

# name → the module it is loaded from on first use
_LAZY = {
    "TemplateDrafter": "monitor.replies.drafter",
    "lint_draft": "monitor.replies.lint",
    "reply_length": "monitor.replies.lint",
    "find_personal_data": "monitor.replies.personal_data",
    "ReplyTemplateError": "monitor.replies.templating",
}


def build_drafter(settings: ReplySettings, brand: BrandSettings, base_dir: Path) -> TemplateDrafter:
    """A drafter over the bundled templates and the brand's overrides, every template checked now.

    Raises ReplyTemplateError (a UserError) naming the file when a template is
    missing, broken or uses a variable that does not exist.
    """
    from monitor.replies.drafter import TemplateDrafter, you_for
    from monitor.replies.templating import load_templates

    override = None
    if settings.templates_dir:
        override = Path(settings.templates_dir).expanduser()
        if not override.is_absolute():
            override = base_dir / override
    templates = load_templates(override, {lang: you_for(lang, settings) for lang in LANGUAGES})
    return TemplateDrafter(settings, brand.name, templates)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ReplySettings",
    "ReplyTemplateError",
    "TemplateDrafter",
    "build_drafter",
    "find_personal_data",
    "lint_draft",
    "reply_length",
]
