"""Progress of long work (import, classify, train, evaluate) on stderr.

On a terminal: a tqdm bar with the count, rate and time left (or, for work counted in stages, the stage and
the time so far). Piped or redirected, or under `-q`: no bar, nothing added to the output. tqdm is imported
only when a bar is shown.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_quiet = False


def set_quiet(quiet: bool) -> None:
    """`-q`: no progress, and no messages about the stages of long work."""
    global _quiet
    _quiet = quiet


def quiet() -> bool:
    return _quiet


def shown() -> bool:
    """A progress display is shown: stderr is a terminal and `-q` was not given."""
    stream = sys.stderr
    return not _quiet and stream is not None and hasattr(stream, "isatty") and stream.isatty()


def count_lines(path: Path) -> int | None:
    """Lines in a file (read once, in blocks: about a second per GB), for the bar's total; None if unreadable."""
    try:
        with path.open("rb") as handle:
            count = 0
            last = b"\n"
            while block := handle.read(1 << 20):
                count += block.count(b"\n")
                last = block[-1:]
            return count + (last != b"\n")
    except OSError:
        return None


def _bar(**options: Any) -> Any:
    from tqdm import tqdm

    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((0, 0))
    if size.columns and size.lines:
        return tqdm(file=sys.stderr, dynamic_ncols=True, leave=False, **options)
    # a terminal that reports no size (a bare pseudo-terminal): tqdm would draw nothing at 0 rows
    return tqdm(file=sys.stderr, ncols=100, nrows=24, leave=False, **options)


@contextmanager
def counting(what: str, unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """`advance(n)` after each n units done; the bar shows the rate, and time left when `total` is known."""
    if not shown():
        yield lambda _n: None
        return
    bar = _bar(desc=what, unit=f" {unit}", total=total, unit_scale=True, smoothing=0.1)
    try:
        yield bar.update
    finally:
        bar.close()


@contextmanager
def stages(what: str) -> Iterator[Callable[[str], None]]:
    """`say(message)` at each stage of work that has no countable units (model fits).

    On a terminal each message is printed and the bar below it shows the current stage and the time so far;
    piped, the messages are printed as they come (they are the run's record); under `-q`, nothing.
    """
    if _quiet:
        yield lambda _message: None
        return
    if not shown():
        yield lambda message: print(message, file=sys.stderr, flush=True)
        return
    bar = _bar(desc=what, bar_format="{desc}: {elapsed}{postfix}")
    done = threading.Event()

    def tick() -> None:  # a model fit gives no sign of life for minutes: keep the clock moving
        while not done.wait(1.0):
            bar.refresh()

    def say(message: str) -> None:
        bar.write(message, file=sys.stderr)
        bar.set_postfix_str(message[:60])

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield say
    finally:
        done.set()
        ticker.join()
        bar.close()
