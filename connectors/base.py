"""The connector interface: how a channel hands mentions to the pipeline.

A connector is constructed from its config entry and asked for one batch at a
time. It never stores anything: the pipeline stores the batch and only then
saves `Batch.cursor`, so a crash between fetch and store re-fetches rather
than loses (re-fetching never duplicates: the store is idempotent).

Adding a channel = one module with a `Connector` subclass, registered under the
`complaint_monitor.connectors` entry-point group (built-ins are in
`connectors.registry.BUILTIN`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.errors import MonitorError
from monitor.models import Mention


class ConnectorError(MonitorError):
    """A connector could not do its job this time; the others keep running."""


class ConnectorConfigError(ConnectorError):
    """The connector's config entry is wrong (unknown option, bad value)."""


class ConnectorAuthError(ConnectorError):
    """A credential is missing or was rejected. The connector is disabled until fixed."""


class ConnectorUnavailable(ConnectorError):
    """The channel could not be reached, timed out, or is rate-limited; try next time."""


@dataclass(slots=True)
class Batch:
    """One fetch: mentions, the cursor to save once they are stored, and skipped items."""

    mentions: list[Mention] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """One line per malformed item that was skipped, with enough context to find it."""


class ConnectorOptions(BaseModel):
    """Base for each connector's own options (its config keys besides name/type/interval)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class BrandFilter:
    """What the brand config says about which posts are mentions."""

    names: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def is_own_account(self, author: str) -> bool:
        own = {h.lstrip("@").lower() for h in self.handles}
        return author.lstrip("@").lower() in own


class Connector(ABC):
    """One configured channel. Subclasses set `platform` and `Options`, and implement `fetch`."""

    platform: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions

    timeout: float = 15.0
    """Seconds one network request may take; the runner sets it from the entry's `timeout`."""

    def __init__(
        self,
        name: str,
        options: Mapping[str, Any],
        brand: BrandFilter,
        base_dir: str | os.PathLike[str] = ".",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.brand = brand
        self.base_dir = base_dir
        self.env: Mapping[str, str] = os.environ if env is None else env
        try:
            self.options = self.Options.model_validate(dict(options))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}" for err in exc.errors()
            )
            raise ConnectorConfigError(f"connector '{name}': {problems}") from None

    def credential(self, variable: str | None, what: str = "credential") -> str:
        """The value of the environment variable named in config, or a clear ConnectorAuthError."""
        if not variable:
            raise ConnectorAuthError(f"connector '{self.name}': no environment variable is named for the {what}")
        value = self.env.get(variable, "")
        if not value:
            raise ConnectorAuthError(f"connector '{self.name}': environment variable {variable} ({what}) is not set")
        from monitor import secrets

        secrets.register(value)  # masked in every log line, error and stored error from now on
        for other in self.__dict__.setdefault("_credentials", []):
            secrets.register_pair(other, value)
            secrets.register_pair(value, other)
        self.__dict__["_credentials"].append(value)
        return value

    @abstractmethod
    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        """Fetch what is new since `cursor` (None on the first poll)."""

    def check(self) -> str:
        """Try the channel once; return a short description of what was reached or raise ConnectorError."""
        batch = self.fetch(None)
        return f"ok, {len(batch.mentions)} mention(s) visible"
