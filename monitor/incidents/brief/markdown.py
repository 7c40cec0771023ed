"""The Markdown brief (`incidents export --format md`): one section per incident.

Everything that comes from a mention is made inert: no HTML, links, emphasis, headings or tables
can be smuggled in through a post; only http(s) URLs become links, as autolinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.escaping import plain
from monitor.incidents.brief.build import FACT_LABELS, safe_url

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_INVISIBLE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def inert(text: Any) -> str:
    """User text as literal Markdown, for the middle of a line: one line, markup characters escaped, <>& as entities."""
    flat = " ".join(_INVISIBLE.sub("", plain(text)).split())  # C0/C1 controls and bidi overrides: `plain`
    return _SPECIAL.sub(r"\\\1", "".join(_ENTITIES.get(ch, ch) for ch in flat))


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
