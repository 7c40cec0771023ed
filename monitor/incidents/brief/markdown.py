"""The Markdown brief (`incidents export --format md`): one section per incident.

Everything that comes from a mention is made inert: no HTML, links, emphasis, headings or tables
can be smuggled in through a post; only http(s) URLs become links, as autolinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.escaping import markdown, plain
from monitor.incidents.brief.build import FACT_LABELS, safe_url

_LINE_START = re.compile(r"([#+])")
"""Beyond `monitor.escaping.markdown`: a brief line may start with a value, so headings and list markers too."""
_INVISIBLE = re.compile("[\u200b-\u200d\u2060-\u2064\ufeff]")
"""Zero-width characters: a word that looks like another."""


def inert(text: Any) -> str:
    """User text as literal Markdown, for the middle of a line: one line, markup characters escaped, <>& as entities."""
    return _LINE_START.sub(r"\\\1", markdown(_INVISIBLE.sub("", plain(text))))


def _link(url: str | None) -> str:
    safe = safe_url(url)
    return f"<{safe}>" if safe else ""


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").replace("Z", " UTC") if iso else "—"


def _report(report: Mapping[str, Any] | None) -> str:
    if not report:
        return "—"
    link = _link(report.get("url"))
    return f"{_when(report['created_at'])}, {inert(report['ref'])}" + (f" {link}" if link else "")


def _fact_line(kind: str, values: list[Mapping[str, Any]]) -> str:
    parts = []
    for v in values:
        people = v["people"]
        where = f" ({inert(v['within'])})" if v.get("within") else ""
        parts.append(f"**{inert(v['value'])}**{where}: {people} {'person' if people == 1 else 'people'}")
    return f"- {FACT_LABELS.get(kind, kind)}: " + "; ".join(parts)


def render_incident(record: Mapping[str, Any]) -> str:
    brief = record.get("brief") or {}
    title = brief.get("title") or record.get("title") or record["id"]
    if brief.get("title") and record.get("kind") == "burst":  # a burst keeps saying it is one
        title = f"{record.get('title')} — {title}"
    lines = [f"## {inert(title)}", ""]
    lines.append(
        f"`{inert(record['id'])}` · {inert(record.get('category'))} · {inert(record.get('urgency'))} · "
        f"{inert(record.get('status'))} · {record.get('size')} reports from {record.get('authors')} people · "
        + ", ".join(inert(p) for p in record.get("platforms") or [])
    )
    lines.append("")
    if not brief:
        lines.append("No reports to brief.")
        return "\n".join(lines)
    if brief.get("read") and brief["read"] < brief["reports"]:
        lines.append(
            f"Facts and quotes read from an evenly spaced sample of {brief['read']} of {brief['reports']} reports."
        )
        lines.append("")
    lines.append("### What people report")
    lines.append("")
    facts = brief.get("facts") or {}
    if facts:
        lines += [_fact_line(kind, values) for kind, values in facts.items()]
    else:
        lines.append("- No version, device, place, merchant, amount or message named.")
    lines.append("")
    timeline = brief["timeline"]
    lines.append("### Timeline")
    lines.append("")
    lines.append(f"- First report: {_report(timeline['first_report'])}")
    lines.append(f"- Became an incident: {_report(timeline.get('became_incident'))}")
    lines.append(f"- Peak: {timeline['peak_reports']} reports in the hour from {_when(timeline['peak_hour'])}")
    lines.append(f"- Last report: {_report(timeline['last_report'])}; {timeline['last_hour_reports']} in its last hour")
    hours = timeline.get("per_hour") or []
    if hours:
        lines.append("")
        lines.append("| hour (UTC) | reports |")
        lines.append("|---|---:|")
        lines += [f"| {_when(h)} | {n} |" for h, n in hours]
    lines.append("")
    lines.append("### What they say")
    lines.append("")
    for q in brief.get("quotes") or []:
        link = _link(q.get("url"))
        lines.append(
            f"- “{inert(q['text'])}” — @{inert(q['author'])}, {inert(q['platform'])}, {inert(q['lang'])}, "
            f"{_when(q['created_at'])}" + (f" {link}" if link else "")
        )
    lines.append("")
    first = brief.get("first_reports") or []
    if first:
        lines.append("### First reports")
        lines.append("")
        lines += [f"{i}. {_report(r)}" for i, r in enumerate(first, 1)]
        lines.append("")
    return "\n".join(lines)


def render(records: Iterable[Mapping[str, Any]], heading: str = "Incident briefs") -> str:
    sections = [render_incident(r) for r in records]
    body = "\n\n".join(sections) if sections else "No incidents."
    return f"# {inert(heading)}\n\n{body}\n"
