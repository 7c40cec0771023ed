"""`status`: the daemons of the fleet, who polls which connector, how the last poll went, and the lag."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.fleet import FleetStatus


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}" if seconds >= 10 * size else f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else "-"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def render_text(status: FleetStatus) -> str:
    now = status.now
    lines = [f"now {_when(now)} (wall clock)", ""]
    running = sum(1 for d in status.daemons if d.state == "running")
    lines.append(f"DAEMONS ({running} running, {len(status.daemons)} known)")
    if status.daemons:
        rows = [["daemon", "state", "heartbeat", "started", "holds"]]
        for d in status.daemons:
            state = d.state if d.stopped_at is None else f"stopped {_ago((now - d.stopped_at).total_seconds())} ago"
            rows.append(
                [
                    d.holder,
                    state,
                    f"{_ago((now - d.heartbeat_at).total_seconds())} ago",
                    _when(d.started_at),
                    ", ".join(d.connectors) or "-",
                ]
            )
        lines += _table(rows)
    else:
        lines.append("  none has run on this database yet (complaint-monitor run)")
    lines += ["", f"CONNECTORS ({len(status.connectors)})"]
    if status.connectors:
        rows = [["connector", "held by", "last poll", "outcome", "newest mention", "mention lag", "last error"]]
        for c in status.connectors:
            error = "-"
            if c.last_error:
                error = (
                    f"{c.last_error} ({_ago((now - c.last_error_at).total_seconds()) if c.last_error_at else '?'} ago)"
                )
            name = c.connector if c.configured else f"{c.connector} (not in config)"
            rows.append(
                [
                    name,
                    c.holder or "-",
                    f"{_ago(c.since_last_poll_seconds)} ago" if c.last_poll_at else "never",
                    c.last_outcome or "-",
                    _when(c.newest_mention_at),
                    _ago(c.mention_lag_seconds),
                    error,
                ]
            )
        lines += _table(rows)
    if status.jobs:
        lines += ["", f"SCHEDULED JOBS (last {len(status.jobs)})"]
        rows = [["job", "scheduled for", "run by", "took", "outcome"]]
        for j in status.jobs:
            took = _ago((j.finished_at - j.started_at).total_seconds()) if j.finished_at else "running"
            rows.append([j.job, _when(j.scheduled_for), j.holder, took, j.outcome or "-"])
        lines += _table(rows)
    lines += ["", f"INCIDENT PLACEMENT ({status.waiting_complaints} complaints waiting for the writers below)"]
    if status.writers:
        rows = [["writer", "stored up to", "registration expires"]]
        for w in status.writers:
            rows.append([w.writer, _when(w.stored_up_to), f"in {_ago((w.expires_at - now).total_seconds())}"])
        lines += _table(rows)
    else:
        lines.append("  no process is storing mentions now")
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def status_command(app: App, fmt: str) -> None:
    """Which daemon polls which connector, last poll, lag, last error, heartbeats."""
    from monitor.fleet import fleet_status

    status = fleet_status(app.database, [entry.name for entry in app.settings.connectors if entry.enabled])
    if fmt == "json":
        click.echo(json.dumps(_jsonable(asdict(status)), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(status), nl=False)


def register(cli: click.Group) -> None:
    cli.add_command(status_command)
