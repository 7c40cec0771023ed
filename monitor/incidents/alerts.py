"""Telling people an incident was born or grew, through apprise.

Any apprise URL works: json://host:port/path posts a JSON body
({"version", "title", "message", "type"}), mailto://…?smtp=…&from=…&to=…
sends e-mail over SMTP, and slack://, tgram://, msteams://… reach chat tools.
A failing target is logged and never stops the pipeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.incidents.settings import AlertSettings

if TYPE_CHECKING:
    from monitor.incidents.brief.build import Brief

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Alert:
    incident_id: str
    title: str
    body: str
    level: str
    """'born' or 'grew'."""


def due_thresholds(authors: int, min_authors: int, thresholds: list[int], sent: list[int]) -> list[int]:
    """Author counts reached and not alerted yet; being born (reaching min_authors) is always one."""
    levels = sorted({min_authors, *(t for t in thresholds if t > min_authors)})
    return [t for t in levels if authors >= t and t not in sent]


def compose(incident: dict[str, Any], reached: int, born: bool) -> Alert:
    """The alert text for one incident row (as exported by `cli.incident_dict`)."""
    summary = incident.get("summary") or {}
    verb = "New incident" if born else f"Incident grew to {reached}+ people"
    brief = _example_brief(incident)
    name = f"{brief.title} — {incident['category']}" if brief is not None else incident["title"]
    title = f"[{incident['urgency'].upper()}] {verb}: {name}"
    lines = [
        f"Incident {incident['id']} ({incident['status']}, category {incident['category']})",
        f"{incident['author_count']} people, {incident['size']} complaints; "
        f"first {incident['first_seen']}, last {incident['last_seen']}",
        f"Peak {summary.get('peak_per_hour', '?')} per hour; platforms: "
        + ", ".join(f"{k} {v}" for k, v in (summary.get("platforms") or {}).items()),
        "Key terms: " + ", ".join(incident.get("key_terms") or []),
    ]
    if brief is not None and brief.facts:
        from monitor.incidents.brief.text import fact_summary

        lines += ["", f"Facts named in the {brief.reports} example reports:"]
        lines += [f"  {line}" for line in fact_summary(brief, unit=("report", "reports"))]
    lines += ["", "Examples:"]
    if brief is not None:
        lines += [f"- [{q.platform}] {q.text}" for q in brief.quotes]
    lines.append("")
    lines.append(f"See: complaint-monitor incidents show {incident['id']}")
    return Alert(incident["id"], title, "\n".join(lines), "born" if born else "grew")


def _example_brief(incident: dict[str, Any]) -> Brief | None:
    """A brief of the example reports the incident's summary carries (the alert has no database session).

    Authors are not in the summary, so facts are counted by report; the bundled word lists and English are used.
    """
    from monitor.incidents.brief.build import BriefMention
    from monitor.incidents.brief.read import default_context

    members = []
    for example in (incident.get("summary") or {}).get("examples") or []:
        try:
            at = datetime.fromisoformat(str(example["created_at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        ref = f"{example.get('platform')}:{example.get('id')}"
        members.append(BriefMention(ref, str(example.get("platform")), ref, at, str(example.get("text") or "")))
    return default_context().build(members, incident.get("category") or "other") if members else None


def _with_timeout(url: str, seconds: float) -> str:
    """Add apprise's connect/read timeouts to a URL that does not set them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key in ("cto", "rto"):
        query.setdefault(key, f"{seconds:g}")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


class Notifier:
    """Sends alerts to every configured apprise URL; returns whether at least one got it."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.urls)

    def send(self, alert: Alert) -> bool:
        if not self.settings.urls:
            return False
        import apprise  # ~0.1 s with its plug-ins: only when there is an alert to send

        timeout = self.settings.timeout.total_seconds()
        delivered = False
        for url in self.settings.urls:
            try:
                client = apprise.Apprise()
                if not client.add(_with_timeout(url, timeout)):
                    log.warning("alert target is not a usable apprise URL: %s", _redact(url))
                    continue
                ok = client.notify(
                    title=alert.title,
                    body=alert.body,
                    body_format=apprise.NotifyFormat.TEXT,
                    notify_type=apprise.NotifyType.WARNING,
                )
            except Exception as exc:  # noqa: BLE001 - an alert must never stop the pipeline
                log.warning("alert to %s failed: %s", _redact(url), exc)
                continue
            if ok:
                delivered = True
            else:
                log.warning("alert to %s was not delivered (incident %s)", _redact(url), alert.incident_id)
        return delivered
