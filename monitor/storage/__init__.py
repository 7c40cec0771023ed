"""Storage: the schema (`schema`), opening/migrating (`database`) and queries (`repository`)."""

from monitor.storage.database import Database, StorageError, open_database

__all__ = ["Database", "StorageError", "open_database"]
