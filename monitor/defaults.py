"""The built-in default configuration and the sample stream, both shipped inside the package.

`init` writes the default config, and a command run where there is no config file uses the
same one, so the first command works from any folder after a plain `pip install`.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = PACKAGE_DIR / "default_config.yaml"
SAMPLE_STREAM = PACKAGE_DIR / "sample" / "sample_mentions.jsonl"
"""Two days of mentions of the fictional PayKita (package data; `examples/sample_mentions.jsonl` links here)."""
SAMPLE_PATH_IN_TEMPLATE = "examples/sample_mentions.jsonl"
"""How the default config names the sample: relative to the config, which works inside a clone."""


def default_config_text(folder: Path) -> str:
    """The commented default config for a file in `folder`: its sample path made to work from there.

    Inside a clone the relative path is kept; anywhere else it points at the copy in the package.
    """
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    if not (folder / SAMPLE_PATH_IN_TEMPLATE).exists():
        text = text.replace(f"path: {SAMPLE_PATH_IN_TEMPLATE}", f"path: {SAMPLE_STREAM}")
    return text
