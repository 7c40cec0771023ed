"""Where a command's output goes: stdout, or a file written whole (never half a file on error)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from monitor.errors import UserError


@contextmanager
def output_stream(out: Path | None) -> Iterator[IO[str]]:
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    folder = out.resolve().parent
    if not folder.is_dir():
        raise UserError(f"folder does not exist: {folder}")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def since_option(value: str | None, now: Callable[[], datetime]) -> datetime | None:
    if value is None:
        return None
    from monitor.durations import parse_since  # it imports pydantic, which `--help` does not need

    try:
        return parse_since(value, now())
    except ValueError as exc:
        raise UserError(str(exc)) from None
