"""Channels: one module per platform. The interface is in `connectors.base`."""

from connectors.base import (
    Batch,
    BrandFilter,
    Connector,
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorOptions,
    ConnectorUnavailable,
)
from connectors.registry import available_types, connector_class

__all__ = [
    "Batch",
    "BrandFilter",
    "Connector",
    "ConnectorAuthError",
    "ConnectorConfigError",
    "ConnectorError",
    "ConnectorOptions",
    "ConnectorUnavailable",
    "available_types",
    "connector_class",
]
