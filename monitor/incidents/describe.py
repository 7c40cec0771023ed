"""What a person sees of an incident: its key terms, title and summary facts (from its running totals)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.incidents.groups import Facts, Group

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
EXAMPLE_CHARS = 200


def title(facts: Facts, category: str, terms: list[str] | None = None) -> str:
    """E.g. 'OTP / code not arriving — access_login'. `terms`: facts.key_terms() if already known."""
    terms = (terms if terms is not None else facts.key_terms())[:4]
    members = max(1, facts.size)
    mostly_negated = facts.negated * 2 >= members
    nouns = [t for t in terms if t.lower() not in VERB_FORMS and t.lower() not in STATES][:2]
    predicates = [t.lower() for t in terms if t.lower() in VERB_FORMS or t.lower() in STATES]
    phrase = " / ".join(nouns)
    if predicates:
        first = predicates[0]
        if first in STATES:
            predicate = STATES[first]
        elif first in CAN_NOT_FORMS and 2 * facts.cannot >= members:
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


def _hour(index: int) -> str:
    return datetime.fromtimestamp(index * 3600, UTC).isoformat()


def summary(group: Group, terms: list[str]) -> dict[str, Any]:
    """Facts for a person at a glance; JSON-ready."""
    facts = group.facts
    assert facts is not None and group.last_seen is not None
    last = group.last_seen.timestamp()
    peak_hour, peak = max(facts.per_hour.items(), key=lambda hc: (hc[1], -hc[0]), default=(0, 0))
    return {
        "kind": "text",
        "peak_per_hour": peak,
        "peak_hour": _hour(peak_hour) if peak else None,
        "per_hour": {_hour(h): n for h, n in sorted(facts.per_hour.items())},
        "platforms": dict(sorted(facts.platforms.items())),
        "languages": dict(sorted(facts.languages.items())),
        "authors": len(facts.authors),
        "members_last_hour": sum(1 for m in group.live if m.report.at > last - 3600),
        "examples": [
            {
                "mention_pk": r.pk,
                "platform": r.platform,
                "id": r.external_id,
                "created_at": r.created_at.isoformat(),
                "text": r.text[:EXAMPLE_CHARS],
            }
            for r in facts.examples
        ],
        "key_terms": terms,
        "raised_at": group.raised_at.isoformat() if group.raised_at else None,
        "raised_by": group.raised_by,
        "usual": {
            "expected": group.usual,
            "observed": group.observed,
            "judged_by": group.usual_how,
            "days": group.usual_days,
        },
        "recurred_from": group.recurred_from,
        "recurred_as": list(group.recurred_as),
        "merged_at": group.closed_at.isoformat() if group.close_reason == "merged" and group.closed_at else None,
    }
