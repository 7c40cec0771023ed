"""The brief as plain text lines (`incidents show`, alerts)."""

from __future__ import annotations

from monitor.incidents.brief.build import FACT_LABELS, Brief, Report
from monitor.incidents.brief.extract import clean

QUOTE_WIDTH = 200


def headline(kind: str, title: str, brief_title: str) -> str:
    """What a person reads first: the brief's title; a burst keeps saying it is one ("Burst: 12 … — …")."""
    return f"{title} — {brief_title}" if kind == "burst" else brief_title


def _when(iso: str) -> str:
    return iso.replace("T", " ").replace("Z", " UTC")


def _report(report: Report | None) -> str:
    if report is None:
        return "—"
    return f"{_when(report.created_at)}  {report.ref}" + (f"  {report.url}" if report.url else "")


def _count(n: int, unit: tuple[str, str]) -> str:
    return f"{n} {unit[0] if n == 1 else unit[1]}"


def fact_summary(brief: Brief, per_kind: int = 3, unit: tuple[str, str] = ("person", "people")) -> list[str]:
    """'App version: 5.2 (10 people), 5.1 (1)' per kind of fact."""
    out = []
    for kind, values in brief.facts.items():
        shown = ", ".join(
            f"{clean(v.value)}{f' [{v.within}]' if v.within else ''} ({_count(v.people, unit) if i == 0 else v.people})"
            for i, v in enumerate(values[:per_kind])
        )
        more = f", +{len(values) - per_kind} more" if len(values) > per_kind else ""
        out.append(f"{FACT_LABELS.get(kind, kind)}: {shown}{more}")
    return out


def brief_lines(brief: Brief) -> list[str]:
    t = brief.timeline
    lines = ["Brief:"]
    if brief.read < brief.reports:
        lines.append(f"  (facts and quotes from an evenly spaced sample of {brief.read} of {brief.reports} reports)")
    lines += [f"  {line}" for line in fact_summary(brief)] or ["  no version, device, place, merchant or amount named"]
    lines.append(f"  first report        {_report(t.first_report)}")
    lines.append(f"  became an incident  {_report(t.became_incident)}")
    lines.append(f"  peak                {t.peak_reports} reports in the hour from {_when(t.peak_hour)}")
    lines.append(f"  last report         {_report(t.last_report)} ({t.last_hour_reports} in its last hour)")
    lines.append("  quotes:")
    for q in brief.quotes:
        text = q.text if len(q.text) <= QUOTE_WIDTH else q.text[: QUOTE_WIDTH - 1] + "…"
        lines.append(f"    - @{clean(q.author)} ({q.platform}, {q.lang}): {text}")
    return lines
