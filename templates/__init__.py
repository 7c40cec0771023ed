"""Jinja2 templates: digests (digest.*.j2) and reply drafts (replies/)."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent
