"""What every CLI command needs: settings, the database, and the pipeline stages, built lazily."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import Settings, load_settings

if TYPE_CHECKING:
    from monitor.pipeline import Pipeline
    from monitor.stages import IncidentAssigner, MentionClassifier, ReplyDrafter
    from monitor.storage import Database


class _Lazy:
    """Stands for an object that is built the first time one of its attributes is used."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


@dataclass
class App:
    config_path: Path | None = None
    db_override: str | None = None
    _database: Database | None = field(default=None, init=False, repr=False)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        from monitor import secrets

        # masked from here on in every log line, error and stored error (monitor.secrets)
        secrets.register_configured(
            settings.model_dump(), os.environ, [settings.database_url(self.db_override)], settings.alerts.urls
        )
        return settings

    @property
    def database_url(self) -> str:
        return self.settings.database_url(self.db_override)

    @property
    def database(self) -> Database:
        if self._database is None:
            from monitor.storage import open_database  # SQLAlchemy: only for commands that use the database

            self._database = open_database(self.database_url)
        return self._database

    def check_model(self) -> None:
        """Refuse, with one line (ModelError), a configured model that is missing, corrupt or edited: before
        anything is stored, not as a failure per mention. Checks its integrity without loading it."""
        from classifiers import model_directory
        from classifiers.model import verify_model

        verify_model(model_directory(self.settings.classifier, self.settings.base_dir))

    @cached_property
    def classifier(self) -> MentionClassifier:
        from classifiers import load_classifier

        return load_classifier(self.settings.classifier, self.settings.base_dir)

    @cached_property
    def incident_assigner(self) -> IncidentAssigner:
        from monitor.incidents import build_assigner

        brand = self.settings.brand
        return build_assigner(
            self.settings.incidents, self.settings.alerts, [brand.name, *brand.names, *brand.hashtags]
        )

    @cached_property
    def reply_drafter(self) -> ReplyDrafter:
        from monitor.replies import build_drafter

        return build_drafter(self.settings.replies, self.settings.brand, self.settings.base_dir)

    @cached_property
    def pipeline(self) -> Pipeline:
        from monitor.incidents.store import brand_words
        from monitor.pipeline import Pipeline
        from monitor.prepare import Ahead, TextTerms

        brand = self.settings.brand
        terms = TextTerms(
            frozenset(t.lower() for t in self.settings.incidents.key_terms),
            brand_words([brand.name, *brand.names, *brand.hashtags]),
        )
        # The model and templates load on first use: a long import prepares in a second process and
        # this one never needs them.
        classifier = _Lazy(lambda: self.classifier)
        drafter = _Lazy(lambda: self.reply_drafter)
        config_path = self.config_path
        return Pipeline(
            self.database,
            classifier,  # type: ignore[arg-type]
            self.incident_assigner,
            drafter,  # type: ignore[arg-type]
            terms=terms,
            ahead=(lambda: Ahead(config_path)) if (os.cpu_count() or 1) > 1 else None,
            max_future=self.settings.ingest.max_future,
            clamp_future=self.settings.ingest.future == "clamp",
        )

    def close(self) -> None:
        if "pipeline" in self.__dict__:
            self.pipeline.close()
        if self._database is not None:
            self._database.dispose()
            self._database = None
