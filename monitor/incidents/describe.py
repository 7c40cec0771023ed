"""What a person sees of a group: its key terms, title and summary facts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from monitor.incidents.engine import Group, Member
from monitor.incidents.text import GENERIC

NEGATIONS = frozenset({"not", "cannot"})
VERB_FORMS = {
    "arrive": "arriving",
    "login": "logging in",
    "pay": "paying",
    "transfer": "transferring",
    "verify": "verifying",
    "topup": "topping up",
    "response": "responding",
    "update": "updating",
    "call": "calling",
}
"""Canonical words read as what fails ('OTP not arriving') rather than as a subject."""
CAN_NOT_FORMS = {
    "login": "log in",
    "pay": "pay",
    "transfer": "transfer",
    "verify": "verify",
    "topup": "top up",
    "update": "update",
    "call": "call",
}
"""'cannot' + these reads as "can't log in" rather than "not logging in"."""
STATES = {
    "late": "late",
    "slow": "slow",
    "down": "down",
    "fail": "failing",
    "missing": "missing",
    "blocked": "blocked",
    "pending": "pending",
    "broken": "broken",
    "crash": "crashing",
    "deducted": "deducted",
    "cancel": "cancelled",
}
"""Canonical words that say what state the subject is in ('refund late', 'balance deducted')."""
EXAMPLES = 3
EXAMPLE_CHARS = 200


def key_terms(members: list[Member], limit: int = 5) -> list[str]:
    """The words most authors used, in the form they wrote them ('OTP', 'QRIS', '5.2')."""
    per_author: dict[str, set[str]] = {}
    surfaces: dict[str, Counter[str]] = {}
    for member in members:
        feats = member.report.features
        per_author.setdefault(member.report.author, set()).update(feats.words)
        for word, surface in feats.surfaces.items():
            surfaces.setdefault(word, Counter())[surface] += 1
    counts: Counter[str] = Counter()
    for words in per_author.values():
        counts.update(w for w in words if w not in NEGATIONS)
    ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0] in GENERIC, wc[0]))
    out = []
    for word, _ in ranked[:limit]:
        forms = surfaces.get(word)
        out.append(_surface(word, forms))
    return out


def _surface(word: str, forms: Counter[str] | None) -> str:
    if word in VERB_FORMS or not forms:
        return word
    best = min(forms.items(), key=lambda fc: (-fc[1], fc[0]))[0]
    return best if best.isupper() or any(ch.isdigit() for ch in best) else word


def title(members: list[Member], category: str, terms: list[str] | None = None) -> str:
    """E.g. 'OTP / code not arriving — access_login'. `terms`: key_terms(members) if already known."""
    terms = (terms if terms is not None else key_terms(members))[:4]
    negated = sum(1 for m in members if NEGATIONS & set(m.report.features.words))
    mostly_negated = negated * 2 >= len(members)
    nouns = [t for t in terms if t.lower() not in VERB_FORMS and t.lower() not in STATES][:2]
    predicates = [t.lower() for t in terms if t.lower() in VERB_FORMS or t.lower() in STATES]
    phrase = " / ".join(nouns)
    if predicates:
        first = predicates[0]
        if first in STATES:
            predicate = STATES[first]
        elif first in CAN_NOT_FORMS and 2 * sum(1 for m in members if "cannot" in m.report.features.words) >= len(
            members
        ):
            predicate = f"can't {CAN_NOT_FORMS[first]}"
        else:
            predicate = f"not {VERB_FORMS[first]}" if mostly_negated else VERB_FORMS[first]
        phrase = f"{phrase} {predicate}".strip()
    elif mostly_negated and phrase:
        phrase = f"{phrase} not working"
    if not phrase:
        phrase = "Complaints"
    phrase = phrase[0].upper() + phrase[1:]
    return f"{phrase} — {category}"


def _hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def summary(group: Group, extra: dict[str, Any] | None = None, terms: list[str] | None = None) -> dict[str, Any]:
    """Facts for a person at a glance; JSON-ready."""
    members = sorted(group.members, key=lambda m: m.report.order_key)
    per_hour = Counter(_hour(m.report.created_at) for m in members)
    last = group.last_seen
    growth = sum(1 for m in members if last is not None and m.report.created_at > last - timedelta(hours=1))
    seen_authors: set[str] = set()
    examples = []
    for member in members:
        report = member.report
        if report.author in seen_authors:
            continue
        seen_authors.add(report.author)
        examples.append(
            {
                "mention_pk": report.pk,
                "platform": report.platform,
                "id": report.external_id,
                "created_at": report.created_at.isoformat(),
                "text": report.text[:EXAMPLE_CHARS],
            }
        )
        if len(examples) >= EXAMPLES:
            break
    out: dict[str, Any] = {
        "kind": "text",
        "peak_per_hour": max(per_hour.values(), default=0),
        "platforms": dict(sorted(Counter(m.report.platform for m in members).items())),
        "languages": dict(sorted(Counter(m.report.lang or "?" for m in members).items())),
        "authors": group.author_count,
        "members_last_hour": growth,
        "examples": examples,
        "key_terms": terms if terms is not None else key_terms(members),
        "merged_at": group.merged_at.isoformat() if group.merged_at else None,
    }
    if extra:
        out.update(extra)
    return out
