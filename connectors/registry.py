"""Finds connector classes by their `type` name: built-ins first, then entry points.

Third-party packages add a channel by declaring, in their pyproject.toml:

    [project.entry-points."complaint_monitor.connectors"]
    mychannel = "my_package.module:MyConnector"
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from connectors.base import Connector, ConnectorConfigError

ENTRY_POINT_GROUP = "complaint_monitor.connectors"

BUILTIN: dict[str, str] = {
    "file": "connectors.file:FileConnector",
    "x": "connectors.x:XConnector",
    "reddit": "connectors.reddit:RedditConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "rss": "connectors.rss:RSSConnector",
}


def _load(target: str) -> type[Connector]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConnectorConfigError(f"{target} is not a Connector subclass")
    return cls


def available_types() -> list[str]:
    names = set(BUILTIN)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def connector_class(type_name: str) -> type[Connector]:
    """The class registered as `type_name`, or ConnectorConfigError listing what exists."""
    if type_name in BUILTIN:
        try:
            return _load(BUILTIN[type_name])
        except ModuleNotFoundError as exc:
            raise ConnectorConfigError(f"connector type '{type_name}' is not available: {exc}") from None
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == type_name:
            return _load(ep.value)
    raise ConnectorConfigError(f"unknown connector type '{type_name}' (available: {', '.join(available_types())})")
