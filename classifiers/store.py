"""A model directory with history: `train --out DIR` replaces the model in DIR and keeps the one it replaced
in DIR/history/<version>/, so `models rollback` can put it back.

Replacing is done so that a reader never sees a half-written model: the new files are written and checked
in a temporary folder beside them first, then moved in with `os.replace` (weights first, manifest last). A
reader that looks in between finds a manifest whose SHA-256 does not match the weights and refuses it (the
daemon then keeps its current model and tries again at the next change).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from classifiers.model import MANIFEST, WEIGHTS, ModelBundle, ModelError, load_model, save_model

HISTORY = "history"
KEEP = 10
"""Models kept in history (the oldest are removed beyond this)."""


@dataclass(frozen=True, slots=True)
class Entry:
    version: str
    trained_at: str
    path: Path
    current: bool


def _version_of(directory: Path) -> tuple[str, str] | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(manifest.get("version", "?")), str((manifest.get("info") or {}).get("trained_at", ""))


def _install(source: Path, target: Path) -> None:
    """Move a checked model's files from `source` into `target`: weights first, manifest last."""
    target.mkdir(parents=True, exist_ok=True)
    os.replace(source / WEIGHTS, target / WEIGHTS)
    os.replace(source / MANIFEST, target / MANIFEST)


def _archive(target: Path) -> Path | None:
    """Copy the model now in `target` to its history (nothing if there is none)."""
    found = _version_of(target)
    if found is None or not (target / WEIGHTS).is_file():
        return None
    place = target / HISTORY / found[0]
    if not place.exists():
        place.mkdir(parents=True)
        shutil.copy2(target / WEIGHTS, place / WEIGHTS)
        shutil.copy2(target / MANIFEST, place / MANIFEST)
    _prune(target)
    return place


def _prune(target: Path, keep: int = KEEP) -> None:
    entries = sorted(
        (p for p in (target / HISTORY).iterdir() if p.is_dir()), key=lambda p: (p / MANIFEST).stat().st_mtime
    )
    for old in entries[: max(0, len(entries) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def publish(bundle: ModelBundle, target: Path) -> Path | None:
    """Write `bundle` as the model in `target`, keeping the one it replaces in history; returns where that went."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=target) as tmp:
        staging = Path(tmp)
        save_model(bundle, staging)
        load_model(staging)  # never publish a model that does not load
        archived = _archive(target)
        _install(staging, target)
    return archived


def history(target: Path) -> list[Entry]:
    """The model in `target` and those in its history, newest first."""
    target = Path(target)
    out = []
    current = _version_of(target)
    if current is not None:
        out.append(Entry(current[0], current[1], target, True))
    folder = target / HISTORY
    if folder.is_dir():
        for place in sorted(folder.iterdir(), key=lambda p: p.name, reverse=True):
            found = _version_of(place)
            if found is not None and (current is None or found[0] != current[0]):
                out.append(Entry(found[0], found[1], place, False))
    return out


def rollback(target: Path, version: str | None = None) -> Entry:
    """Put a model from history back as the current one (the newest other than the current, or `version`)."""
    target = Path(target)
    older = [e for e in history(target) if not e.current]
    if not older:
        raise ModelError(f"no earlier model in {target / HISTORY}")
    chosen = older[0] if version is None else next((e for e in older if e.version == version), None)
    if chosen is None:
        raise ModelError(f"no model {version!r} in {target / HISTORY} (have: {', '.join(e.version for e in older)})")
    load_model(chosen.path)  # refuse a damaged history entry before touching the current model
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=target) as tmp:
        staging = Path(tmp)
        shutil.copy2(chosen.path / WEIGHTS, staging / WEIGHTS)
        shutil.copy2(chosen.path / MANIFEST, staging / MANIFEST)
        _archive(target)
        _install(staging, target)
    return chosen
