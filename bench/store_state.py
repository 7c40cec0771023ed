"""What a user sees of a store, keyed by mention rather than by row number: two stores that should hold the
same result (one clean import, or several writers at once) compare equal table by table."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text


def state(url: str) -> dict[str, list]:
    """Everything a user sees of the store, keyed by mention (never by row number)."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            key = {pk: f"{p}:{x}" for pk, p, x in c.execute(text("select pk, platform, external_id from mentions"))}
            return {
                "mentions": sorted(key.values()),
                "statuses": sorted((key[pk], str(s)) for pk, s in c.execute(text("select pk, status from mentions"))),
                "verdicts": sorted(
                    (key[r[0]], bool(r[1]), round(r[2], 6), r[3], r[4], r[5], json.dumps(r[6], sort_keys=True))
                    for r in c.execute(
                        text(
                            "select mention_pk, is_complaint, complaint_score, urgency, category, lang, reasons "
                            "from classifications"
                        )
                    )
                ),
                "incidents": sorted(
                    tuple(str(v) for v in r)
                    for r in c.execute(
                        text(
                            "select id, status, size, author_count, merged_into, first_seen, last_seen, title, "
                            "urgency, category from incidents"
                        )
                    )
                ),
                "members": sorted(
                    (i, key[pk]) for i, pk in c.execute(text("select incident_id, mention_pk from incident_members"))
                ),
                "drafts": sorted(
                    (key[pk], t) for pk, t in c.execute(text("select mention_pk, text from reply_drafts"))
                ),
            }
    finally:
        engine.dispose()
