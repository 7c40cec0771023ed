"""The `replies:` section of config.yaml.

Every field has a default, so an empty (or absent) section gives careful
drafts in English and Indonesian. Per-category `strategy` entries and
`max_length` entries are merged over the defaults: naming one category or one
platform leaves the others as shipped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Offer = Literal["refund", "replacement", "specialist", "status_page"]
"""What a reply may offer. Anything not allowed for a category is never mentioned."""

CATEGORIES = (
    "access_login",
    "payment_billing",
    "delivery",
    "app_bug_outage",
    "customer_service",
    "product_quality",
    "pricing_fees",
    "security_fraud",
    "account",
    "other",
)
"""The classifier's default taxonomy; an unknown category is drafted as `other`."""

LANGUAGES = ("en", "id")


class CategoryStrategy(BaseModel):
    """What the team may offer for one category, and what it must never promise."""

    model_config = ConfigDict(extra="forbid")

    offers: list[Offer] = Field(default_factory=list)
    """Resolutions a draft may propose. Empty: the draft only promises to look into it."""
    never_promise: list[str] = Field(default_factory=list)
    """Phrases a draft for this category must never contain (checked like banned phrases)."""


def _default_strategy() -> dict[str, CategoryStrategy]:
    no_money = ["compensation", "kompensasi", "ganti rugi", "guarantee", "dijamin"]
    return {
        "access_login": CategoryStrategy(offers=["specialist", "status_page"]),
        "payment_billing": CategoryStrategy(
            offers=["refund", "specialist"], never_promise=["compensation", "kompensasi"]
        ),
        "delivery": CategoryStrategy(
            offers=["replacement", "specialist"], never_promise=["compensation", "kompensasi"]
        ),
        "app_bug_outage": CategoryStrategy(offers=["status_page", "specialist"], never_promise=no_money),
        "customer_service": CategoryStrategy(offers=["specialist"], never_promise=no_money),
        "product_quality": CategoryStrategy(
            offers=["replacement", "refund"], never_promise=["compensation", "kompensasi"]
        ),
        "pricing_fees": CategoryStrategy(
            offers=["specialist"], never_promise=no_money + ["refund", "pengembalian dana"]
        ),
        # Fraud: money is only ever discussed privately, after an investigation.
        "security_fraud": CategoryStrategy(
            offers=["specialist"], never_promise=no_money + ["refund", "pengembalian dana"]
        ),
        "account": CategoryStrategy(offers=["specialist"], never_promise=no_money),
        "other": CategoryStrategy(offers=["specialist"], never_promise=no_money),
    }


def _default_max_length() -> dict[str, int]:
    # X counts the @handle; the rest are the platforms' own post limits.
    return {"x": 280, "bluesky": 300, "mastodon": 500, "reddit": 10_000}


class ReplySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    default_language: Literal["en", "id"] = "en"
    """Language of drafts for mentions in any language other than English or Indonesian."""
    address: Literal["kak", "anda"] = Field("anda", alias="register")
    """How Indonesian drafts address the customer: "Anda" (formal) or "Kak"/"Kakak" (warm, still polite)."""
    strategy: dict[str, CategoryStrategy] = Field(default_factory=_default_strategy)
    """Per category (classifier ids): what may be offered and what must never be promised."""
    status_page_url: str | None = None
    """Linked in incident drafts and by the `status_page` offer (which is skipped while this is unset)."""
    banned_phrases: list[str] = Field(default_factory=list)
    """Extra phrases no draft may contain (a built-in list against blaming and mocking always applies)."""
    max_length: dict[str, int] = Field(default_factory=_default_max_length)
    """Characters per platform, including the @handle."""
    default_max_length: int = Field(1000, ge=80)
    """For platforms without an entry, e.g. rss and file (no public reply box: the draft is for e-mail or a comment)."""
    address_author_on: list[str] = Field(default_factory=lambda: ["x", "bluesky", "mastodon"])
    """Platforms where a reply starts with @author (Reddit replies are threaded, rss has no author to tag)."""
    templates_dir: str | None = None
    """A folder (relative to config.yaml) of template overrides, same file names as templates/replies/."""
    signature: str = ""
    """Appended to every draft when it fits, e.g. "^Rina" or "– Tim Brand". Dropped first when too long."""

    @field_validator("address", mode="before")
    @classmethod
    def _lower_register(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("strategy")
    @classmethod
    def _merge_strategy(cls, value: dict[str, CategoryStrategy]) -> dict[str, CategoryStrategy]:
        for name in value:
            if not 1 <= len(name) <= 50:
                raise ValueError(f"category name must be 1-50 characters: {name!r}")
        return {**_default_strategy(), **value}

    @field_validator("max_length")
    @classmethod
    def _merge_max_length(cls, value: dict[str, int]) -> dict[str, int]:
        for platform, limit in value.items():
            if limit < 80:
                raise ValueError(f"{platform}: {limit} is too short for a five-step reply (at least 80)")
        return {**_default_max_length(), **value}

    @field_validator("status_page_url")
    @classmethod
    def _plain_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or any(ch.isspace() for ch in value):
            raise ValueError("must be an http(s) URL without spaces")
        return value

    def strategy_for(self, category: str) -> CategoryStrategy:
        return self.strategy.get(category) or self.strategy["other"]

    def limit_for(self, platform: str) -> int:
        return self.max_length.get(platform.lower(), self.default_max_length)
