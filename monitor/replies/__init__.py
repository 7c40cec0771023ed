"""Suggested public replies to complaints: five steps, the customer's language, no private detail.

    drafter = build_drafter(settings.replies, settings.brand, settings.base_dir)
    draft = drafter.draft(mention, classification, incident_or_none)

Drafts are for a person to send; nothing is ever posted automatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from monitor.replies.drafter import TemplateDrafter, you_for
from monitor.replies.lint import lint_draft, reply_length
from monitor.replies.personal_data import find_personal_data
from monitor.replies.settings import LANGUAGES, ReplySettings
from monitor.replies.templating import ReplyTemplateError, load_templates

if TYPE_CHECKING:
    from monitor.config import BrandSettings


def build_drafter(settings: ReplySettings, brand: BrandSettings, base_dir: Path) -> TemplateDrafter:
    """A drafter over the bundled templates and the brand's overrides, every template checked now.

    Raises ReplyTemplateError (a UserError) naming the file when a template is
    missing, broken or uses a variable that does not exist.
    """
    override = None
    if settings.templates_dir:
        override = Path(settings.templates_dir).expanduser()
        if not override.is_absolute():
            override = base_dir / override
    templates = load_templates(override, {lang: you_for(lang, settings) for lang in LANGUAGES})
    return TemplateDrafter(settings, brand.name, templates)


__all__ = [
    "ReplySettings",
    "ReplyTemplateError",
    "TemplateDrafter",
    "build_drafter",
    "find_personal_data",
    "lint_draft",
    "reply_length",
]
