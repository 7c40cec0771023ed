"""The `briefs:` section of config.yaml: how incident briefs are written."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BriefSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["en", "id"] = "en"
    """The team's language: incident titles are written in it (en or id), whatever the reports' languages."""
    max_members: int = Field(2000, ge=100)
    """Reports read for facts and quotes; a bigger incident is read through an evenly spaced sample of this many."""
    quotes: int = Field(4, ge=1, le=5)
    """Representative quotes per brief, chosen to cover languages, platforms and facts."""
    first_links: int = Field(3, ge=0, le=20)
    """Links to this many of the first reports."""
    values_per_fact: int = Field(12, ge=1, le=100)
    """At most this many values of each kind of fact (most-mentioned first)."""
    merchants: list[str] = Field(default_factory=list)
    """Merchant and partner names to recognise, on top of the bundled list and brand.names other than the brand."""
    places: dict[str, str | None] = Field(default_factory=dict)
    """Extra places: name -> the city or area it lies in (null for a city of its own)."""
    version_words: list[str] = Field(default_factory=list)
    """Extra words that introduce an app version ("build", "rilis"), on top of versi/version/update/the brand names."""
