"""An incident's title as a person would write it, from what its reporters say.

"QRIS payments failing after update 5.2", "Kode OTP tidak masuk saat login": a subject and what
is wrong with it, taken from the word lists, with at most two qualifiers (version, step, place or
channel) and the OS when one dominates. Counted by distinct people, ties broken by name, so the same
members always give the same title, in the team's language whatever language they wrote in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from monitor.incidents.brief.lexicon import Lexicon

STEP_PHRASES = {
    "login": ("at login", "saat login"),
    "payment": ("at payment", "saat pembayaran"),
    "top-up": ("when topping up", "saat top up"),
    "transfer": ("when transferring", "saat transfer"),
    "withdrawal": ("when withdrawing", "saat tarik tunai"),
    "sign-up": ("at sign-up", "saat pendaftaran"),
}
CHANNEL_PHRASES = {"email": "email", "SMS": "SMS", "WhatsApp": "WhatsApp", "web": "web"}
MAX_QUALIFIERS = 2

Counts = Mapping[str, Mapping[str, int]]
"""kind -> value -> distinct people who state it."""


def _top(counts: Counts, kind: str, exclude: tuple[str, ...] = ()) -> tuple[str, int] | None:
    values = counts.get(kind, {})
    best = min(((-n, v) for v, n in values.items() if v not in exclude), default=None)
    return (best[1], -best[0]) if best else None


def _enough(n: int, people: int, share: float) -> bool:
    return n >= max(2, math.ceil(share * people)) or (people <= 2 and n == people and n > 0)


def compose_title(
    counts: Counts,
    people: int,
    category: str,
    lex: Lexicon,
    language: str,
    updated: int = 0,
) -> str:
    """`counts`: people per fact; `updated`: people naming the top version who also say "update"."""
    en = language != "id"
    scored = sorted(
        (-(n * lex.subjects[v].weight), -n, v)
        for v, n in counts.get("subject", {}).items()
        if v in lex.subjects and _enough(n, people, 0.25)
    )
    subject = lex.subjects[scored[0][2]] if scored else None

    order = list(lex.problems)
    problems = sorted((-n, order.index(v), v) for v, n in counts.get("problem", {}).items())
    problem = None
    if problems and _enough(-problems[0][0], people, 0.2):
        problem = lex.problems[problems[0][2]]
        preferred = lex.subject_problem.get(subject.key) if subject else None
        if preferred and preferred in lex.problems:
            n_pref = counts.get("problem", {}).get(preferred, 0)
            if n_pref >= max(2, -problems[0][0] - 1):
                problem = lex.problems[preferred]

    if subject is None:
        names = lex.categories.get(category) or lex.categories.get("other") or {"en": "Complaints", "id": "Keluhan"}
        head = names["en"] if en else names["id"]
        if problem is not None:
            head = f"{head}: {problem.en if en else problem.id}"
        problem = None
    else:
        head = subject.en if en else subject.id
        merchant = _top(counts, "merchant")
        if subject.key in lex.merchant_subjects and merchant and _enough(merchant[1], people, 0.5):
            head = f"{merchant[0]} {head.lower()}" if en else f"{head} {merchant[0]}"
        if problem is not None:
            head = f"{head} {problem.en if en else problem.id}"
        elif en:
            head = f"{head} problems"
        else:
            head = f"Masalah {head[0].lower() + head[1:]}"

    qualifiers: list[str] = []
    version = _top(counts, "version")
    if version and _enough(version[1], people, 0.4):
        if 2 * updated >= version[1]:
            qualifiers.append(f"after update {version[0]}" if en else f"setelah update {version[0]}")
        else:
            qualifiers.append(f"on version {version[0]}" if en else f"di versi {version[0]}")
    channel = _top(counts, "channel", exclude=("app",))
    if problem is not None and problem.key == "not arriving" and channel and channel[0] in CHANNEL_PHRASES:
        if _enough(channel[1], people, 0.5):
            qualifiers.append(f"by {CHANNEL_PHRASES[channel[0]]}" if en else f"lewat {CHANNEL_PHRASES[channel[0]]}")
    step = _top(counts, "step")
    if step and step[0] in STEP_PHRASES and _enough(step[1], people, 0.3):
        if subject is None or (subject.key in lex.step_subjects and step[0] != subject.implies):
            qualifiers.append(STEP_PHRASES[step[0]][0 if en else 1])
    place = _place(counts, lex, people)
    if place:
        qualifiers.append(f"in {place}" if en else f"di {place}")
    title = " ".join([head, *qualifiers[:MAX_QUALIFIERS]])
    family = _dominant_os(counts, people)
    if family:
        title += f" ({family})"
    return title[0].upper() + title[1:]


def _place(counts: Counts, lex: Lexicon, people: int) -> str | None:
    """The place most people (60%) name; on a tie the more specific one (a city, not its area)."""
    places = ((n, v) for v, n in counts.get("place", {}).items() if _enough(n, people, 0.6))
    candidates = sorted((-n, -lex.depth(v), v) for n, v in places)
    return candidates[0][2] if candidates else None


def _dominant_os(counts: Counts, people: int) -> str | None:
    families = {"iOS", "Android", "HarmonyOS", "Windows", "macOS"}
    ranked = sorted((-n, v) for v, n in counts.get("os_device", {}).items() if v in families)
    if not ranked or not _enough(-ranked[0][0], people, 0.5):
        return None
    if len(ranked) > 1 and -ranked[1][0] * 3 >= -ranked[0][0]:
        return None
    return ranked[0][1]
