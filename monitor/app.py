"""What every CLI command needs: settings, the database, and the pipeline stages, built lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import Settings, load_settings

if TYPE_CHECKING:
    from monitor.pipeline import Pipeline
    from monitor.stages import IncidentAssigner, MentionClassifier, ReplyDrafter
    from monitor.storage import Database


@dataclass
class App:
    config_path: Path | None = None
    db_override: str | None = None
    _database: Database | None = field(default=None, init=False, repr=False)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_path)

    @property
    def database_url(self) -> str:
        return self.settings.database_url(self.db_override)

    @property
    def database(self) -> Database:
        if self._database is None:
            from monitor.storage import open_database  # SQLAlchemy: only for commands that use the database

            self._database = open_database(self.database_url)
        return self._database

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
        from monitor.pipeline import Pipeline

        return Pipeline(self.database, self.classifier, self.incident_assigner, self.reply_drafter)

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None
