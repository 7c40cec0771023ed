"""The `complaint-monitor` command line. This contract is public: extend it, never rename or drop.

Each group of commands lives in its own module under `monitor.commands` and
registers itself here; a command raises a `MonitorError` (`UserError`, or the
config's, database's, connector's or model's own) for anything the user can
fix, which prints one line on stderr and exits 1.

Every command module is imported for every run (`--help` lists them all), so
they import their machinery (the app, the database, connectors, jinja2…) inside
the command that uses it: start-up pays only for the command being run.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import sys
from pathlib import Path

import click

from monitor.errors import EXIT_USAGE, MonitorError, as_monitor_error, one_line

COMMAND_MODULES = ("core", "mentions", "incidents", "digest", "models", "replies", "connectors", "status", "web")


EXAMPLES = """\b
Examples:
  complaint-monitor run --once                  poll every channel once (the sample stream by default)
  complaint-monitor digest --format text        what the team should look at first
  complaint-monitor import last_month.jsonl     replay history through the whole pipeline
  complaint-monitor mentions export --flagged --since 24h > flagged.jsonl
  complaint-monitor incidents export --format md --since 7d --out incidents.md
  complaint-monitor mentions status x:1898662 replied --note "DM sent"
  complaint-monitor --db postgresql://monitor@db/monitor run    the daemon, on PostgreSQL

Exit codes: 0 done; 1 part or all of the work failed (run --once or connectors check: a channel failed;
replies lint: a draft breaks a rule); 2 a usage or config error (one line on stderr, nothing done).
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.version_option(package_name="complaint-monitor", prog_name="complaint-monitor", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: ./config.yaml if present, else the built-in default that `init` writes).",
)
@click.option("--db", "db_url", default=None, help="Database URL; overrides the config and $MONITOR_DB.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no stage messages; only errors in the log.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, db_url: str | None, verbose: int, quiet: bool) -> None:
    """Watch public channels for brand mentions, flag complaints and incidents, draft replies."""
    from monitor import progress

    progress.set_quiet(quiet)
    level = logging.ERROR if quiet else logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from monitor.secrets import install_log_filter

    install_log_filter()  # configured secrets never reach a log line, whoever logs it
    from monitor.app import App  # here, not at the top: `--help` needs neither the config nor the database

    app = App(config_path=config_path, db_override=db_url)
    ctx.obj = app
    ctx.call_on_close(app.close)


for _name in COMMAND_MODULES:
    importlib.import_module(f"monitor.commands.{_name}").register(cli)

COMMAND_EXAMPLES = {
    "init": "complaint-monitor init --force",
    "import": "complaint-monitor import last_month.jsonl --platform x",
    "run": "complaint-monitor run --once",
    "status": "complaint-monitor status --format json",
    "mentions export": "complaint-monitor mentions export --flagged --since 24h --format csv --out flagged.csv",
    "mentions status": 'complaint-monitor mentions status x:1898662 replied --note "DM sent"',
    "incidents export": "complaint-monitor incidents export --format md --since 7d --out incidents.md",
    "incidents show": "complaint-monitor incidents show INC-20260310-0745-1a2b",
    "incidents status": "complaint-monitor incidents status INC-20260310-0745-1a2b resolved",
    "incidents merge": "complaint-monitor incidents merge INC-20260310-0745-1a2b INC-20260310-0812-9f0e",
    "incidents drop": "complaint-monitor incidents drop INC-20260310-0745-1a2b x:1898662",
    "digest": "complaint-monitor digest --format html --since 24h --out digest.html",
    "connectors check": "complaint-monitor connectors check x reddit",
    "connectors list": "complaint-monitor connectors list",
    "replies lint": "complaint-monitor replies lint --lang id --show 3",
    "replies draft": "complaint-monitor replies draft x:1898662",
    "train": "complaint-monitor train --data our_labels.csv --out models/next",
    "classify": "complaint-monitor classify --input mentions.jsonl > classified.jsonl",
    "evaluate": "complaint-monitor evaluate --labels",
    "label": "complaint-monitor label x:1898662 --complaint --urgency high --category delivery",
    "models list": "complaint-monitor models list",
    "models rollback": "complaint-monitor models rollback",
    "serve": "complaint-monitor serve --port 8765",
    "users add": "complaint-monitor users add rina --role agent",
    "users passwd": "complaint-monitor users passwd rina",
    "users remove": "complaint-monitor users remove rina",
    "users list": "complaint-monitor users list",
}
"""Shown at the end of each command's --help (a test checks that every command has one)."""


def _leaf_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(_leaf_commands(command, path + " "))
        else:
            found[path] = command
    return found


for _path, _command in _leaf_commands(cli).items():
    if _path in COMMAND_EXAMPLES and not _command.epilog:
        _command.epilog = f"\b\nExample:\n  {COMMAND_EXAMPLES[_path]}"

# A command is one short process. At exit the interpreter's last garbage collections scan every
# object still alive (SQLAlchemy's, pydantic's, the config's): ~0.1 s of a 0.5 s command, to free
# memory the OS takes back anyway. Frozen objects are skipped by those collections.
atexit.register(gc.freeze)


def main(argv: list[str] | None = None) -> int:
    try:
        code = cli.main(args=argv, prog_name="complaint-monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("complaint-monitor: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        click.echo("complaint-monitor: interrupted", err=True)
        return 130
    except MonitorError as exc:
        return _fail(exc)
    except Exception as exc:
        error = as_monitor_error(exc)  # a database that refuses to write, a file that cannot be written
        if error is None:
            raise  # a bug: its traceback is what a report needs
        return _fail(error)
    # ctx.exit(n) in a command comes back here as the return value
    return code if isinstance(code, int) else 0


def _fail(error: MonitorError) -> int:
    """The one line a user reads for an error they can fix; its exit code (see `monitor.errors`)."""
    from monitor.secrets import mask

    click.echo(f"complaint-monitor: error: {mask(one_line(str(error)))}", err=True)
    return getattr(error, "exit_code", EXIT_USAGE)
