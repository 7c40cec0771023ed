"""File connector: mention JSONL files, for replay, imports and the bundled sample.

The cursor remembers how far each file was read (byte offset), so appending
lines to a file and polling again ingests only the new lines; a file that
shrank (rotated or rewritten) is read again from the start, and the idempotent
store drops what it already has.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.base import Batch, Connector, ConnectorConfigError, ConnectorOptions, ConnectorUnavailable
from monitor.mention_io import LineError, read_mentions


class FileOptions(ConnectorOptions):
    path: str
    """A JSONL file, a directory (every *.jsonl in it) or a glob; relative to the config file."""
    platform: str = "file"
    """Platform for records that do not name their own."""


class FileConnector(Connector):
    platform = "file"
    Options = FileOptions
    options: FileOptions

    def _paths(self) -> list[Path]:
        pattern = Path(self.options.path)
        if not pattern.is_absolute():
            pattern = Path(self.base_dir) / pattern
        if pattern.is_dir():
            return sorted(pattern.glob("*.jsonl"))
        if any(ch in str(pattern) for ch in "*?["):
            return sorted(Path(p) for p in glob.glob(str(pattern)))
        if not pattern.exists():
            raise ConnectorConfigError(f"connector '{self.name}': file not found: {pattern}")
        return [pattern]

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        offsets: dict[str, int] = dict((cursor or {}).get("offsets", {}))
        batch = Batch()
        for path in self._paths():
            key = str(path.resolve())
            start = offsets.get(key, 0)
            try:
                size = path.stat().st_size
                if size < start:
                    start = 0
                with path.open("rb") as handle:
                    handle.seek(start)
                    data = handle.read()
            except OSError as exc:
                raise ConnectorUnavailable(f"connector '{self.name}': cannot read {path}: {exc}") from exc
            # Only whole lines: a writer may be half-way through the last one.
            end = data.rfind(b"\n") + 1 if not data.endswith(b"\n") else len(data)
            text = data[:end].decode("utf-8", errors="replace")
            errors: list[LineError] = []
            # split on \n only: U+2028 and friends may legally sit inside a post's text
            for mention in read_mentions(text.split("\n"), self.options.platform, errors):
                if self.brand.is_own_account(mention.author):
                    continue
                batch.mentions.append(mention)
            where = path.name if start == 0 else f"{path.name} (read from byte {start})"
            batch.skipped.extend(f"{where} {err}" for err in errors)
            offsets[key] = start + end
        batch.cursor = {"offsets": offsets}
        return batch

    def check(self) -> str:
        paths = self._paths()
        return f"ok, {len(paths)} file(s) readable"
