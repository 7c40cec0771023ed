"""Local stand-ins for the platforms: fixture payloads shaped as each API documents
them, and helpers to serve them from a pytest-httpserver instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.base import BrandFilter

FIXTURES = Path(__file__).resolve().parent / "fixtures"

BRAND = BrandFilter(
    names=("PayKita",),
    handles=("PayKitaCare",),
    hashtags=("PayKita",),
    exclude=("lowongan",),
    languages=("id", "en"),
)
"""The brand every connector test watches: an Indonesian e-wallet with a care account."""


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class NoSleep:
    """Replaces a connector's sleep: records the backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
