"""Incident alerts reach a webhook (JSON body) and an SMTP mailbox, once per threshold; failures never stop
the pipeline."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from monitor.incidents import build_assigner
from monitor.incidents.settings import AlertSettings, IncidentSettings
from monitor.models import Classification, Mention, Urgency
from monitor.stages import StoredComplaint
from monitor.storage import open_database
from monitor.storage.schema import ClassificationRow, IncidentRow, MentionRow
from tests.conftest import store_quiet_history

T0 = datetime(2026, 3, 10, 7, 40, tzinfo=UTC)
OTP = ["OTP gak masuk min", "not receiving the OTP code", "kode OTP ga dateng", "OTP still not arriving"]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


@pytest.fixture
def db(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    store_quiet_history(database, T0)
    yield database
    database.dispose()


class Rollback(Exception):
    pass


def _assign(db, assigner, start: int, count: int, author_prefix: str = "user", fail_commit: bool = False) -> None:
    """Assign in one transaction and deliver its alerts once committed, as the pipeline does."""
    with db.session() as session:
        complaints = []
        for i in range(start, start + count):
            text = OTP[i % len(OTP)]
            at = T0 + timedelta(minutes=3 * i)
            row = MentionRow(platform="x", external_id=f"m{i}", author=f"{author_prefix}{i}", text=text, created_at=at)
            session.add(row)
            session.flush()
            session.add(
                ClassificationRow(
                    mention_pk=row.pk,
                    lang="id",
                    is_complaint=True,
                    complaint_score=0.9,
                    base_urgency="medium",
                    urgency="medium",
                    category="access_login",
                )
            )
            session.flush()
            complaints.append(
                StoredComplaint(
                    row.pk,
                    Mention(f"m{i}", "x", f"{author_prefix}{i}", text, at),
                    Classification("id", True, 0.9, Urgency.MEDIUM, "access_login"),
                )
            )
        outcome = assigner.assign(session, complaints)
        if fail_commit:
            raise Rollback
    outcome.deliver()


def test_born_and_grown_incidents_alert_the_webhook_and_the_mailbox_once_per_threshold(db, httpserver, smtp):
    port, mailbox = smtp
    httpserver.expect_request("/hooks/incidents", method="POST").respond_with_data("ok")
    alerts = AlertSettings(
        urls=[
            f"json://127.0.0.1:{httpserver.port}/hooks/incidents",
            f"mailto://127.0.0.1:{port}?mode=insecure&from=alerts@example.com&to=oncall@example.com",
        ],
        thresholds=[3, 5],
    )
    assigner = build_assigner(IncidentSettings(), alerts)

    _assign(db, assigner, 0, 2)  # two people: not an incident yet
    assert httpserver.log == [] and mailbox.messages == []

    _assign(db, assigner, 2, 1)  # third person: born
    assert len(httpserver.log) == 1 and len(mailbox.messages) == 1
    body = httpserver.log[0][0].get_json()
    assert body["title"].startswith("[HIGH] New incident: OTP") and body["type"] == "warning"
    assert "3 people" in body["message"] and "incidents show INC-20260310-0740-" in body["message"]
    assert b"oncall@example.com" in mailbox.messages[0].content

    _assign(db, assigner, 3, 1)  # fourth person: no new threshold
    assert len(httpserver.log) == 1

    _assign(db, assigner, 4, 1)  # fifth: grew past 5
    assert len(httpserver.log) == 2 and len(mailbox.messages) == 2
    assert "grew to 5+" in httpserver.log[1][0].get_json()["title"]
    with db.session() as session:
        (incident,) = session.scalars(select(IncidentRow).where(IncidentRow.status != "candidate")).all()
        assert incident.summary["alerts_sent"] == [3, 5]


def test_an_unreachable_alert_target_is_logged_and_the_incident_is_still_stored(db, caplog):
    alerts = AlertSettings(urls=[f"json://127.0.0.1:{_free_port()}/nobody", "notaurl"], timeout="2s")
    assigner = build_assigner(IncidentSettings(), alerts)

    _assign(db, assigner, 0, 3)

    with db.session() as session:
        (incident,) = session.scalars(select(IncidentRow).where(IncidentRow.status != "candidate")).all()
        assert incident.author_count == 3
    assert "alert" in caplog.text.lower()


def test_a_batch_that_is_rolled_back_alerts_nobody_and_its_retry_alerts_once(db, httpserver):
    httpserver.expect_request("/hooks/incidents", method="POST").respond_with_data("ok")
    alerts = AlertSettings(urls=[f"json://127.0.0.1:{httpserver.port}/hooks/incidents"])
    assigner = build_assigner(IncidentSettings(), alerts)

    with pytest.raises(Rollback):
        _assign(db, assigner, 0, 3, fail_commit=True)  # the store failed: nothing happened
    assert httpserver.log == []

    _assign(db, assigner, 0, 3)  # the same batch again
    _assign(db, assigner, 3, 1)
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].get_json()["title"].startswith("[HIGH] New incident")
