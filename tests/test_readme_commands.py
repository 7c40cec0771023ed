"""The README's command list names every command `--help` lists, and no command that does not exist."""

from __future__ import annotations

import re

import click

from monitor.cli import cli
from tests.conftest import ROOT


def _readme_commands() -> set[str]:
    """First word of each line; for a line of plain commands ("train | classify | …") every one of them
    (after a group, "| list" is a subcommand)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### Commands", 1)[1].split("```", 2)[1]
    names: set[str] = set()
    for line in block.splitlines()[2:]:
        usage = re.split(r"\s{2,}", line.strip())[0]
        words = re.findall(r"(?:^|\| )([a-z]+)", usage)
        if not words:
            continue
        names.add(words[0])
        if not isinstance(cli.commands.get(words[0]), click.Group):
            names.update(words[1:])
    return names


def test_readme_lists_every_command() -> None:
    assert _readme_commands() == set(cli.commands)
