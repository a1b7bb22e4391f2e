"""Mail: each change writes its messages to the outbox, and a sender delivers them to a
real SMTP server (aiosmtpd, in this process), where the tests read them."""

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import vobject
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.events import registrations
from app.feeds.vevents import events_for_entries
from app.main import create_app
from app.models import Event, MessageStatus, OutboxMessage
from app.notifications import itip, preferences
from app.notifications.kinds import KINDS
from app.notifications.mail import transport_for
from app.notifications.outbox import shared_lines
from app.notifications.sender import Sender
from tests.helpers.database import migrate
from tests.helpers.events import create_event, published_event
from tests.helpers.mail import SmtpServer
from tests.helpers.pages import BROWSER, open_page
from tests.helpers.waiting import until
from tests.test_catalogue import COMMUNICATION

# The default event of the helpers: 10 March 2027, 09:30 to 17:00 in Brussels (UTC+1).
STARTS = datetime(2027, 3, 10, 8, 30, tzinfo=UTC)
ENDS = datetime(2027, 3, 10, 16, 0, tzinfo=UTC)


def outbox(db) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def register(client, account, event_id: int) -> dict:
    response = client.post(f"/events/{event_id}/registrations", headers=account.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def event_with_registrants(client, secretariat, make_account, people: int) -> dict:
    """A published event, with ``people`` participants registered for it."""
    event = published_event(client, secretariat.headers)
    for _ in range(people):
        register(client, make_account("participant"), event["id"])
    return event


# -- the outbox -----------------------------------------------------------------------


def test_a_registration_writes_its_mail_and_the_request_sends_nothing(
    client, dg_rtd, participant, db, smtp
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    (message,) = outbox(db)
    assert (message.kind, message.recipient, message.status) == (
        "registration_confirmed",
        participant.user.email,
        MessageStatus.pending,
    )
    assert message.calendar_method == "REQUEST"
    assert smtp.received == []  # nothing leaves inside a request


def test_a_change_rolled_back_leaves_no_message(
    session_factory, settings, dg_rtd, client, participant, clock
):
    event = published_event(client, dg_rtd.headers)
    with session_factory() as session:
        session.info["settings"] = settings
        registrations.register(
            session=session, user=participant.user, event_id=event["id"], now=clock()
        )
        session.flush()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        session.rollback()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    with session_factory.begin() as session:
        session.info["settings"] = settings
        registrations.register(
            session=session, user=participant.user, event_id=event["id"], now=clock()
        )
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_same_news_is_queued_once(session_factory, settings, clock, participant):
    from app.notifications.outbox import Draft, enqueue

    draft = Draft(
        kind="event_reminder", key="same-key", subject="Hello", body="Text", user=participant.user
    )
    with session_factory.begin() as session:
        assert enqueue(session, draft, settings=settings, now=clock()) is True
        assert enqueue(session, draft, settings=settings, now=clock()) is False
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


# -- participants, with calendar invitations ------------------------------------------


def test_a_confirmation_carries_an_invitation_calendars_add(
    client, dg_rtd, participant, db, smtp, sender, settings
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    assert sender.run_once().sent == 1

    received = smtp.one_to(participant.user.email)
    assert received.recipients == [participant.user.email]
    assert received.subject == f"Registration confirmed: {event['title']}"
    text = received.text
    assert "Wednesday 10 March 2027, 09:30–17:00 (Europe/Brussels time, UTC+01:00)" in text
    assert "Wednesday 10 March 2027, 08:30–16:00 (UTC)" in text
    assert "Jacques Delors building" in text
    assert f"{settings.base_url}/e/{event['id']}" in text

    part = received.calendar_part
    assert part is not None
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    calendar = received.calendar
    assert calendar["METHOD"] == "REQUEST"
    vevent = received.vevent
    stored = db.get(Event, event["id"])
    assert str(vevent["UID"]) == stored.uid
    assert vevent["SEQUENCE"] == stored.sequence == 0
    assert str(vevent["ORGANIZER"]) == "mailto:no-reply@kep.example.eu"
    assert str(vevent["ATTENDEE"]) == f"mailto:{participant.user.email}"
    assert vevent["ATTENDEE"].params["CN"] == participant.user.name
    assert vevent.decoded("DTSTART") == STARTS
    assert vevent.decoded("DTEND") == ENDS
    assert str(vevent["DTSTART"].params["TZID"]) == "Europe/Brussels"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]
    # An independent parser reads the same instants, and a valid calendar.
    parsed = vobject.readOne(part.get_content(), validate=True)
    assert parsed.method.value == "REQUEST"
    assert parsed.vevent.dtstart.value.astimezone(UTC) == STARTS

    # Assembled from its parts: the text the library writes for the whole calendar.
    kept = db.scalar(select(OutboxMessage.calendar).where(OutboxMessage.calendar_uid == stored.uid))
    assert icalendar.Calendar.from_ical(kept).to_ical().decode() == kept

    # The same rendering as the event's own calendar file, but for what iTIP adds.
    (feed_vevent,) = icalendar.Calendar.from_ical(
        client.get(f"/events/{event['id']}.ics").text
    ).walk("VEVENT")
    for name in ("UID", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "DTSTART", "DTEND"):
        assert vevent[name] == feed_vevent[name], name


def test_invitations_to_one_version_of_an_event_write_its_lines_once(
    client, dg_rtd, make_account, db, count_queries
):
    event = published_event(client, dg_rtd.headers)
    first, second, third = (make_account("participant") for _ in range(3))
    register(client, first, event["id"])
    with count_queries() as counted:
        register(client, second, event["id"])
    # The event's VEVENT was not read again: its agenda, actions and priority areas.
    assert not [statement for statement in counted.statements if "agenda_items" in statement]

    # An amendment of an action it serves renews the event, and the lines with it.
    amended = client.patch(
        "/actions/3",
        headers=dg_rtd.headers,
        json={"title": "A title amended by communication", "communication": COMMUNICATION},
    )
    assert amended.status_code == 200, amended.text
    register(client, third, event["id"])

    def description(account) -> str:
        text = db.scalar(
            select(OutboxMessage.calendar).where(OutboxMessage.recipient == account.user.email)
        )
        (vevent,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
        assert icalendar.Calendar.from_ical(text).to_ical().decode() == text
        return str(vevent["DESCRIPTION"])

    assert description(first) == description(second)
    assert "A title amended by communication" not in description(second)
    assert "Action 3: A title amended by communication" in description(third)
    for account in (first, second, third):  # each with the lines of their own
        text = db.scalar(
            select(OutboxMessage.calendar).where(OutboxMessage.recipient == account.user.email)
        )
        (vevent,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
        assert str(vevent["ATTENDEE"]) == f"mailto:{account.user.email}"
        assert vevent["ATTENDEE"].params["CN"] == account.user.name


def test_a_registration_asks_what_was_sent_to_its_own_person_only(
    client, dg_rtd, make_account, count_queries, db
):
    """An invitation's SEQUENCE must outrank what its person was sent for the event: that
    is read for the people the change invites, not for everyone ever invited to it (a
    seminar with hundreds registered read them all for each registration)."""
    event = event_with_registrants(client, dg_rtd, make_account, 5)
    newcomer = make_account("participant")
    with count_queries() as counted:
        register(client, newcomer, event["id"])
    (asked,) = [
        parameters
        for statement, parameters in zip(counted.statements, counted.parameters, strict=True)
        if "max(outbox.calendar_sequence)" in statement
    ]
    values = asked.values() if isinstance(asked, dict) else asked
    invited = {m.recipient for m in outbox(db)}
    assert newcomer.user.email in values
    assert not invited.intersection(values) - {newcomer.user.email}

    # Cancelled and registered again, one person is still sent a sequence above the last.
    client.delete(f"/events/{event['id']}/registrations/me", headers=newcomer.headers)
    register(client, newcomer, event["id"])
    sequences = [m.calendar_sequence for m in outbox(db) if m.recipient == newcomer.user.email]
    assert sequences == sorted(set(sequences)) and len(sequences) == 3


def test_an_invitation_to_one_person_is_read_in_one_statement(
    client, dg_rtd, make_account, count_queries, db
):
    """A registration's invitation needs the event's version (for its shared lines) and
    the last SEQUENCE its person was sent for the event: one statement reads both, where
    two round trips did."""
    event = event_with_registrants(client, dg_rtd, make_account, 2)
    newcomer = make_account("participant")
    with count_queries() as counted:
        register(client, newcomer, event["id"])
    reads = [
        statement
        for statement in counted.statements
        if statement.lstrip().upper().startswith("SELECT")
        and ("feed_entries" in statement or "outbox" in statement)
    ]
    assert len(reads) == 1, reads
    assert "max(outbox.calendar_sequence)" in reads[0]

    # What it read still ranks each new invitation above the last: cancelled, then
    # registered again (REQUEST, CANCEL, REQUEST).
    client.delete(f"/events/{event['id']}/registrations/me", headers=newcomer.headers)
    register(client, newcomer, event["id"])
    sent = [m for m in outbox(db) if m.recipient == newcomer.user.email]
    assert [m.calendar_method for m in sent] == ["REQUEST", "CANCEL", "REQUEST"]
    assert [m.calendar_sequence for m in sent] == [0, 1, 2]


def test_a_cancellation_to_more_than_are_asked_for_by_name_still_outranks_each(
    client, dg_rtd, make_account, db, monkeypatch
):
    from app.notifications import outbox as queue

    monkeypatch.setattr(queue, "ASKED_AT_MOST", 2)
    event = event_with_registrants(client, dg_rtd, make_account, 3)
    again = make_account("participant")
    register(client, again, event["id"])
    client.delete(f"/events/{event['id']}/registrations/me", headers=again.headers)
    register(client, again, event["id"])  # sent 0, then 1, then 2
    cancelled = client.post(
        f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Off"}
    )
    assert cancelled.status_code == 200, cancelled.text
    last = {}
    for message in outbox(db):
        if message.calendar_sequence is not None:
            assert message.calendar_sequence > last.get(message.recipient, -1)
            last[message.recipient] = message.calendar_sequence
    assert len(last) == 4 and last[again.user.email] == 3


def test_invitations_prepared_in_several_batches_of_one_commit_still_outrank_each_other(
    client, dg_rtd, make_account, db, settings, clock, monkeypatch
):
    """Reading what everyone was sent (more people than are asked for by name) must not
    undo a SEQUENCE this commit already gave someone, whose message is not inserted yet."""
    from app.notifications import outbox as queue
    from app.notifications.outbox import Draft, Invite, prepare_all

    monkeypatch.setattr(queue, "ASKED_AT_MOST", 1)
    first, second, third = (make_account("participant") for _ in range(3))
    event = published_event(client, dg_rtd.headers)
    register(client, first, event["id"])  # sent SEQUENCE 0 by the registration

    def invitation(account, n: int) -> tuple[Draft, datetime]:
        user = db.merge(account.user)
        draft = Draft(
            kind="registration_promoted",
            key=f"test:{n}",
            subject="Subject",
            body="Body",
            user=user,
            invite=Invite(event["id"], "REQUEST"),
        )
        return draft, clock()

    batches = [
        [invitation(first, 1)],
        [invitation(second, 2), invitation(third, 3)],  # everyone's read: more than one
        [invitation(first, 4)],
    ]
    given = [
        (row["recipient"], row["calendar_sequence"])
        for batch in batches
        for row in prepare_all(db, batch, settings=settings)
    ]
    email = first.user.email
    assert [sequence for recipient, sequence in given if recipient == email] == [1, 2]


def test_an_invitation_takes_the_events_lines_from_the_vevent_the_feeds_keep(
    client, dg_rtd, db, settings, count_queries
):
    """Publishing keeps the event's public VEVENT (app.feeds.entries); an invitation's
    shared lines are taken from it in the one statement that reads the version: the
    same lines as written from the event, folded lines and all (repeated properties
    and components inside: the next test)."""
    event = published_event(
        client,
        dg_rtd.headers,
        title="Régions et vallées d'innovation : ce que Norte a appris, à Évora et ailleurs",
        description="Première journée. " * 40 + "\nSecond paragraph, with a line break.",
        actions=[3, 5, 8],
        priority_areas=[1, 2],
    )
    with count_queries() as counted:
        kept, _ = shared_lines(db, event["id"], settings.base_url)
    assert len(counted.statements) == 1
    (written,) = events_for_entries(db, [event["id"]])
    assert kept == itip.event_lines(written, base_url=settings.base_url)
    assert any(b"\r\n " in line for line in kept.properties.values())  # folded lines

    # Written for another address than the kept VEVENT's, they are written afresh.
    elsewhere = "https://kep.elsewhere.example.eu"
    with count_queries() as counted:
        other, _ = shared_lines(db, event["id"], elsewhere)
    assert any("agenda_items" in statement for statement in counted.statements)
    assert other == itip.event_lines(written, base_url=elsewhere) != kept


def test_the_lines_read_from_a_written_vevent_are_those_of_its_properties():
    """Repeated properties together, folded lines whole, the components inside left out:
    what the lines of the component itself are."""
    component = icalendar.Event()
    component.add("UID", "one@kep.example.eu")
    component.add("SUMMARY", "Régions : " + "une ligne assez longue pour être pliée, " * 4)
    for who in ("ana@example.eu", "bo@example.eu"):
        component.add("ATTENDEE", f"mailto:{who}")
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", "Inside the alarm only")
    component.add_component(alarm)
    lines = itip._written_lines(component.to_ical().decode())
    assert lines == itip._lines(component)
    assert lines["ATTENDEE"].count(b"ATTENDEE") == 2
    assert "ACTION" not in lines and "DESCRIPTION" not in lines


@pytest.mark.parametrize("method", [itip.REQUEST, itip.CANCEL])
@pytest.mark.parametrize(
    "name",
    [
        "Ana Silva",
        "",
        'Ann "the chair" O\'Neill, DG RTD; Unit B.2: Research & Innovation',
        "Zoë Ångström-Wiśniewska, «Région Île-de-France» " * 3,
    ],
)
def test_an_invitation_is_what_the_library_writes_for_the_whole_component(
    session_factory, client, dg_rtd, method, name
):
    """The invitation's own lines are written without building a component for them:
    the same text as the library gives for the VEVENT with them all."""
    event = published_event(client, dg_rtd.headers)
    now = datetime(2027, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
    with session_factory() as session:
        (feed_event,) = events_for_entries(session, [event["id"]])
        lines = itip.event_lines(feed_event, base_url="https://kep.example.eu")
        whole = itip.event_component(feed_event, base_url="https://kep.example.eu")
    text = itip.invitation(
        lines,
        method=method,
        sequence=7,
        attendee="zoe@example.eu",
        attendee_name=name,
        organizer="KEP 2.0 <no-reply@kep.example.eu>",
        now=now,
    )
    for own in ("DTSTAMP", "SEQUENCE", "ORGANIZER", "ATTENDEE", "STATUS"):
        whole.pop(own, None)
    whole.add("DTSTAMP", now)
    whole.add("SEQUENCE", 7)
    whole.add("ORGANIZER", "mailto:no-reply@kep.example.eu", parameters={"CN": "KEP 2.0"})
    attendee = icalendar.vCalAddress("mailto:zoe@example.eu")
    if name:
        attendee.params["CN"] = name
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "ACCEPTED" if method == itip.REQUEST else "DECLINED"
    attendee.params["RSVP"] = "FALSE"
    whole.add("ATTENDEE", attendee)
    whole.add("STATUS", "CANCELLED" if method == itip.CANCEL else "TENTATIVE")
    (vevent,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert vevent.to_ical() == whole.to_ical()
    assert text.encode().count(whole.to_ical()) == 1  # written as the library writes it


def test_an_events_lines_are_kept_only_once_their_transaction_commits(
    client, dg_rtd, db, count_queries
):
    event = published_event(client, dg_rtd.headers)
    # An address no kept VEVENT was written for: the lines are written from the event.
    elsewhere = "https://kep.elsewhere.example.eu"

    def read_afresh() -> bool:
        with count_queries() as counted:
            shared_lines(db, event["id"], elsewhere)
        return any("agenda_items" in statement for statement in counted.statements)

    assert read_afresh()
    db.rollback()
    assert read_afresh()  # what the rolled-back transaction made was not kept
    with db.begin_nested():
        assert read_afresh()
    db.rollback()
    assert read_afresh()  # nor what a savepoint inside it made
    assert read_afresh()  # within one transaction, nothing is kept before it commits
    db.commit()
    assert not read_afresh()


def test_a_change_of_time_updates_the_invitation_in_place(
    client, dg_rtd, participant, db, smtp, sender
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    response = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"starts_at": "2027-03-10T10:30", "ends_at": "2027-03-10T18:00"},
    )
    assert response.status_code == 200, response.text
    sender.run_once()

    first = smtp.one_to(participant.user.email, "Registration confirmed")
    changed = smtp.one_to(participant.user.email, "Changed:")
    assert "has changed: the time." in changed.text
    assert "10:30–18:00 (Europe/Brussels time" in changed.text
    assert changed.calendar["METHOD"] == "REQUEST"
    assert changed.vevent["UID"] == first.vevent["UID"]
    assert changed.vevent["SEQUENCE"] == db.get(Event, event["id"]).sequence == 1
    assert changed.vevent.decoded("DTSTART") == STARTS + timedelta(hours=1)


def test_a_new_venue_or_link_tells_registrants_and_the_waitlist_what_changed(
    client, dg_rtd, make_account, smtp, sender
):
    event = published_event(client, dg_rtd.headers, capacity=1)
    holder, waiting = make_account("participant"), make_account("participant")
    register(client, holder, event["id"])
    register(client, waiting, event["id"])
    response = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={
            "venue": {"name": "Committee of the Regions", "city": "Brussels", "country": "BE"},
            "online_url": "https://meet.example.eu/kep",
        },
    )
    assert response.status_code == 200, response.text
    sender.run_once()
    changed = smtp.one_to(holder.user.email, "Changed:")
    assert "has changed: the venue, the online link." in changed.text
    assert "Where:  Committee of the Regions, Brussels, Belgium" in changed.text
    assert "Online: https://meet.example.eu/kep" in changed.text
    assert changed.vevent["LOCATION"] == "Committee of the Regions, Brussels, Belgium"
    on_list = smtp.one_to(waiting.user.email, "Changed:")
    assert on_list.calendar_part is None and "You are on its waitlist." in on_list.text


def test_a_title_change_alone_sends_no_mail(client, dg_rtd, participant, db):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "New title"})
    assert [message.kind for message in outbox(db)] == ["registration_confirmed"]


def test_a_slow_mail_server_never_makes_two_senders_deliver_one_message(
    client, dg_rtd, make_account, smtp, session_factory, mail_settings, clock
):
    """A sender holds its batch for a while; when the mail server is slow, it stops
    before its hold ends and gives the rest back, rather than sending what another
    sender may by then have claimed."""
    event = published_event(client, dg_rtd.headers)
    for _ in range(12):
        register(client, make_account("participant"), event["id"])
    settings = mail_settings.model_copy(update={"smtp_timeout": 30})
    second = Sender(session_factory, settings, clock=clock)
    real = transport_for(settings)
    meanwhile: list[object] = []

    class Slow:
        @contextlib.contextmanager
        def connection(self):
            with real.connection() as send:

                def slowly(message):
                    clock.advance(seconds=100)  # each delivery, within 30 s per command
                    send(message)
                    if not meanwhile and clock() - started >= timedelta(minutes=10):
                        meanwhile.append(second.run_once())  # another sender's round

                yield slowly

    started = clock()
    first = Sender(session_factory, settings, transport=Slow(), clock=clock)
    done = first.run_once()
    assert done.sent < 12  # the first sender stopped before its hold ended
    for _ in range(3):  # what it gave back goes in the next rounds
        clock.advance(minutes=1)
        first.run_once()
    delivered = [str(message.mail["Message-ID"]) for message in smtp.received]
    assert len(delivered) == len(set(delivered)) == 12


def test_a_cancelled_registration_withdraws_the_invitation_and_a_new_one_outranks_it(
    client, dg_rtd, participant, smtp, sender
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    client.delete(f"/events/{event['id']}/registrations/me", headers=participant.headers)
    register(client, participant, event["id"])
    sender.run_once()

    confirmations = [m for m in smtp.to(participant.user.email) if m.calendar_part]
    assert [m.calendar["METHOD"] for m in confirmations] == ["REQUEST", "CANCEL", "REQUEST"]
    assert [m.vevent["SEQUENCE"] for m in confirmations] == [0, 1, 2]
    assert len({str(m.vevent["UID"]) for m in confirmations}) == 1
    cancel = confirmations[1]
    assert cancel.subject.startswith("Registration cancelled")
    assert cancel.vevent["STATUS"] == "CANCELLED"
    assert cancel.calendar_part.get_param("method") == "CANCEL"


def test_the_waitlist_says_the_position_and_a_promotion_brings_the_invitation(
    client, dg_rtd, make_account, smtp, sender
):
    event = published_event(client, dg_rtd.headers, capacity=1)
    first, second, third = (make_account("participant") for _ in range(3))
    for account in (first, second, third):
        register(client, account, event["id"])
    client.delete(f"/events/{event['id']}/registrations/me", headers=first.headers)
    sender.run_once()

    waiting = smtp.one_to(third.user.email, "On the waitlist")
    assert waiting.subject == f"On the waitlist (position 2): {event['title']}"
    assert "waitlist at position 2" in waiting.text
    assert waiting.calendar_part is None
    promoted = smtp.one_to(second.user.email, "A place is yours")
    assert promoted.calendar["METHOD"] == "REQUEST"
    assert str(promoted.vevent["ATTENDEE"]) == f"mailto:{second.user.email}"


def test_a_cancelled_event_tells_everyone_registered_why(
    client, dg_rtd, make_account, smtp, sender, db
):
    event = published_event(client, dg_rtd.headers, capacity=1)
    holder, waiting = make_account("participant"), make_account("participant")
    register(client, holder, event["id"])
    register(client, waiting, event["id"])
    client.post(
        f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Venue flooded"}
    )
    sender.run_once()

    cancelled = smtp.one_to(holder.user.email, "Cancelled:")
    assert "The reason: Venue flooded" in cancelled.text
    assert cancelled.calendar["METHOD"] == "CANCEL"
    assert cancelled.vevent["SEQUENCE"] == db.get(Event, event["id"]).sequence == 1
    on_list = smtp.one_to(waiting.user.email, "Cancelled:")
    assert on_list.calendar_part is None


def test_giving_up_a_place_at_a_cancelled_event_sends_nothing_more(client, dg_rtd, participant, db):
    """The event's cancellation told them, and took it out of their calendar: a second
    message, with a second CANCEL, would only say it again, and wrongly ("you gave up")."""
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    given_up = client.delete(f"/events/{event['id']}/registrations/me", headers=participant.headers)
    assert given_up.json()["status"] == "cancelled"
    kinds = [message.kind for message in outbox(db)]
    assert kinds == ["registration_confirmed", "event_cancelled"]


def test_a_cancellation_costs_the_same_statements_for_few_or_many_registrants(
    client, dg_rtd, make_account, count_queries, db
):
    counts = []
    for people in (2, 8):
        event = event_with_registrants(client, dg_rtd, make_account, people)
        with count_queries() as counted:
            answer = client.post(
                f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Off"}
            )
        assert answer.status_code == 200
        counts.append(counted.count)
        sent = [m for m in outbox(db) if m.idempotency_key.startswith(f"event:{event['id']}:")]
        assert len(sent) == people
    assert counts[0] == counts[1], counts


def test_the_sender_marks_a_round_of_messages_at_once(
    client, dg_rtd, make_account, sender, smtp, count_queries, db
):
    costs = []
    for people in (2, 8):
        event_with_registrants(client, dg_rtd, make_account, people)
        with count_queries() as counted:
            assert sender.run_once().sent == people
        costs.append((counted.count, counted.transactions))
        assert len(smtp.received) == sum((2, 8)[: len(costs)])
    assert costs[0] == costs[1], costs
    assert {(m.status, m.secret, m.claimed_by) for m in outbox(db)} == {
        (MessageStatus.sent, None, None)
    }
    assert all(m.sent_at is not None for m in outbox(db))


class _TakesTime:
    """The real transport, each message taking ``seconds`` of the clock to hand over; it
    notes the statuses of the outbox as each message begins."""

    def __init__(self, inner, clock, db, seconds: float) -> None:
        self.inner, self.clock, self.db, self.seconds = inner, clock, db, seconds
        self.seen: list[list[str]] = []

    @contextlib.contextmanager
    def connection(self):
        with self.inner.connection() as send:

            def slowly(mail) -> None:
                self.seen.append([message.status for message in outbox(self.db)])
                self.clock.advance(seconds=self.seconds)
                send(mail)

            yield slowly


def test_a_long_round_marks_what_went_as_it_goes(
    client, dg_rtd, make_account, smtp, session_factory, mail_settings, clock, db
):
    event_with_registrants(client, dg_rtd, make_account, 4)
    transport = _TakesTime(transport_for(mail_settings), clock, db, seconds=0.6)
    sender = Sender(session_factory, mail_settings, transport=transport, clock=clock)
    assert sender.run_once().sent == 4
    # Marked as the first had waited a second: as the third went, 1.2 s after it.
    assert [statuses.count("sent") for statuses in transport.seen] == [0, 0, 0, 3]
    assert {m.status for m in outbox(db)} == {MessageStatus.sent}


def test_the_day_before_registrants_are_reminded_once(
    client, dg_rtd, participant, make_account, smtp, sender, session_factory, mail_settings, clock
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    clock.set(STARTS - timedelta(hours=20))
    sender.run_once()
    another = Sender(session_factory, mail_settings, clock=clock)  # a second worker
    another.run_once()
    sender.run_once()
    reminders = [m for m in smtp.to(participant.user.email) if m.subject.startswith("Tomorrow")]
    assert len(reminders) == 1
    assert "09:30–17:00 (Europe/Brussels time" in reminders[0].text
    assert reminders[0].mail["List-Unsubscribe"]


@pytest.mark.parametrize("since", ["cancelled", "moved", "gave up the place", "opted out"])
def test_a_reminder_that_no_longer_holds_is_withdrawn_not_sent(
    client, dg_rtd, participant, admin, smtp, sender, clock, db, since
):
    """The mail server refused the reminder at first; by its next attempt the news has
    changed: it is withdrawn, never sent after what contradicts it."""
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    clock.set(STARTS - timedelta(hours=20))
    smtp.stop()
    sender.run_once()  # the reminder is queued, its first attempt refused
    [reminder] = [m for m in outbox(db) if m.kind == "event_reminder"]
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    path = f"/events/{event['id']}"
    if since == "cancelled":
        client.post(f"{path}/cancel", headers=dg_rtd.headers, json={"reason": "Venue flooded"})
    elif since == "moved":
        client.patch(
            path,
            headers=dg_rtd.headers,
            json={"starts_at": "2027-03-17T09:30", "ends_at": "2027-03-17T17:00"},
        )
    elif since == "gave up the place":
        client.delete(f"{path}/registrations/me", headers=participant.headers)
    else:
        client.patch(
            "/me/notifications", headers=participant.headers, json={"event_reminder": False}
        )
    smtp.start()
    clock.advance(hours=1)
    sender.run_once()
    assert not [m for m in smtp.to(participant.user.email) if m.subject.startswith("Tomorrow")]
    db.refresh(reminder)
    assert reminder.status == "withdrawn"
    assert reminder.last_error.startswith("No longer holds:")
    retried = client.post(f"/outbox/{reminder.id}/retry", headers=admin.headers)
    assert retried.status_code == 409
    assert "was withdrawn" in retried.json()["detail"]


def test_an_invitation_outranked_by_one_sent_while_it_waited_is_withdrawn(
    client, dg_rtd, participant, smtp, sender, clock, db
):
    """The confirmation (REQUEST, SEQUENCE 0) waits for the mail server; meanwhile the
    person gives up the place, and the cancellation (SEQUENCE 1), due sooner, goes
    first. The confirmation would now tell them, and their calendar, something
    untrue: it is withdrawn, and the cancellation stays their last word."""
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    smtp.stop()
    sender.run_once()  # refused; next attempt after the retry's wait
    clock.advance(seconds=31)
    sender.run_once()  # refused again; the wait doubles
    clock.advance(seconds=10)
    client.delete(f"/events/{event['id']}/registrations/me", headers=participant.headers)
    smtp.start()
    sender.run_once()  # only the cancellation is due
    clock.advance(minutes=5)
    sender.run_once()  # the confirmation's next attempt
    sent = [
        (m.calendar["METHOD"], m.vevent["SEQUENCE"])
        for m in smtp.to(participant.user.email)
        if m.calendar_part is not None
    ]
    assert sent == [("CANCEL", 1)]
    [confirmation] = [m for m in outbox(db) if m.calendar_method == "REQUEST"]
    assert confirmation.status == "withdrawn"
    assert "(SEQUENCE 1) was sent while it waited" in confirmation.last_error


@pytest.mark.parametrize(
    "since", ["the call closed", "voting closed", "the topic was agreed", "turned off"]
)
def test_a_seminar_notice_that_no_longer_holds_is_withdrawn_not_sent(
    client, member, dg_rtd, sedec, smtp, sender, clock, db, since
):
    """A call for topics, or the opening or close of voting, that the mail server refused
    at first: by its next attempt the phase it announces may be over, or the person may
    have turned such mail off. It is withdrawn, never sent after what contradicts it."""
    from tests.helpers.seminars import (
        CLOSE,
        IN_PROPOSALS,
        OPEN,
        VOTING_CLOSE,
        open_seminar,
        propose,
    )

    seminar = open_seminar(client, dg_rtd)
    path = f"/seminars/{seminar['id']}"
    if since == "the topic was agreed":
        clock.set(IN_PROPOSALS)
        proposal = propose(client, member, seminar["id"])
        moment, kind, recipient = VOTING_CLOSE, "voting_closed", sedec
    elif since == "voting closed":
        moment, kind, recipient = CLOSE, "voting_opens", member
    else:
        moment, kind, recipient = OPEN, "call_for_topics", member
    clock.set(moment + timedelta(hours=1))
    smtp.stop()
    sender.run_once()  # the notice is queued, its first attempt refused
    queued = [m for m in outbox(db) if m.kind == kind and m.recipient == recipient.user.email]
    assert [(m.status, m.attempts) for m in queued] == [("pending", 1)]
    if since == "the call closed":
        assert client.post(f"{path}/close-proposals", headers=dg_rtd.headers).status_code == 200
    elif since == "voting closed":
        assert client.post(f"{path}/close-voting", headers=dg_rtd.headers).status_code == 200
    elif since == "the topic was agreed":
        for staff in (dg_rtd, sedec):
            chosen = {"proposal_id": proposal["id"]}
            answer = client.put(f"{path}/agreement", headers=staff.headers, json=chosen)
            assert answer.status_code == 200, answer.text
    else:
        off = client.patch("/me/notifications", headers=member.headers, json={kind: False})
        assert off.status_code == 200, off.text
    smtp.start()
    clock.advance(hours=1)
    sender.run_once()
    subject = {
        "call_for_topics": "the call for topics is open",
        "voting_opens": "voting on the topics is open",
        "voting_closed": "voting closed",
    }[kind]
    assert not [m for m in smtp.to(recipient.user.email) if subject in m.subject]
    (message,) = queued
    db.refresh(message)
    assert message.status == "withdrawn"
    assert message.last_error.startswith("No longer holds:")


def test_a_seminar_notice_that_still_holds_is_sent_on_its_next_attempt(
    client, member, dg_rtd, smtp, sender, clock, db
):
    from tests.helpers.seminars import OPEN, open_seminar

    open_seminar(client, dg_rtd)
    clock.set(OPEN + timedelta(hours=1))
    smtp.stop()
    sender.run_once()
    smtp.start()
    clock.advance(hours=1)
    sender.run_once()
    smtp.one_to(member.user.email, "Seminar 1 of 2027: the call for topics is open")


@pytest.mark.parametrize("kind", ["call_for_topics", "voting_opens"])
def test_a_seminar_notice_whose_closing_date_moved_goes_out_as_the_seminar_now_stands(
    client, member, dg_rtd, smtp, sender, clock, db, kind
):
    """Refused at first; the secretariat then gives the phase ten more days. The notice
    still holds, and a new date is no new notice: it goes out with the date as it now
    stands, and the outbox keeps what was sent."""
    from tests.helpers.seminars import CLOSE, OPEN, VOTING_CLOSE, iso, open_seminar

    seminar = open_seminar(client, dg_rtd)
    clock.set((OPEN if kind == "call_for_topics" else CLOSE) + timedelta(hours=1))
    smtp.stop()
    sender.run_once()
    date, old = (
        ("proposals_close_at", CLOSE)
        if kind == "call_for_topics"
        else (
            "voting_close_at",
            VOTING_CLOSE,
        )
    )
    new = old + timedelta(days=10)
    moved = client.patch(
        f"/seminars/{seminar['id']}", headers=dg_rtd.headers, json={date: iso(new)}
    )
    assert moved.status_code == 200, moved.text
    smtp.start()
    clock.advance(hours=1)
    sender.run_once()
    subject = {"call_for_topics": "the call for topics is open", "voting_opens": "voting on"}
    (mail,) = [m for m in smtp.to(member.user.email) if subject[kind] in m.subject]
    assert f"{new:%A} {new.day} {new:%B %Y}" in mail.text
    assert f"{old:%A} {old.day} {old:%B %Y}" not in mail.text
    (message,) = [m for m in outbox(db) if m.kind == kind and m.recipient == member.user.email]
    assert message.status == "sent" and f"{new.day} {new:%B %Y}" in message.body


def test_a_notice_to_every_member_is_queued_in_statements_that_do_not_grow_with_them(
    client, dg_rtd, make_account, session_factory, settings, clock, count_queries, db
):
    """A call for topics goes to every member. Who turned such mail off is asked once for
    them all, and their messages are inserted together: a statement or two per member
    made the first minute of a call cost hundreds."""
    from app.notifications.notices import fire_due
    from tests.helpers.seminars import OPEN, open_seminar

    members = [
        make_account("member", f"Member {n}", member_state="PT", region="Norte") for n in range(6)
    ]
    off = client.patch(
        "/me/notifications", headers=members[0].headers, json={"call_for_topics": False}
    )
    assert off.status_code == 200, off.text
    open_seminar(client, dg_rtd)
    clock.set(OPEN + timedelta(hours=1))
    with count_queries() as counted:
        assert fire_due(session_factory, settings=settings, now=clock()) == 1
    asked = [s for s in counted.statements if "FROM notification_settings" in s]
    inserted = [s for s in counted.statements if s.lstrip().startswith("INSERT INTO outbox")]
    assert (len(asked), len(inserted)) == (1, 1), counted.statements
    called = {m.recipient for m in outbox(db) if m.kind == "call_for_topics"}
    assert called == {member.user.email for member in members[1:]}


def test_old_news_is_not_announced(client, dg_rtd, member, sender, clock, smtp):
    """A sender that starts long after a moment (a new installation, a long outage)
    does not announce it: a notice fires within a day of its moment only."""
    from tests.helpers.seminars import OPEN, open_seminar

    open_seminar(client, dg_rtd)
    clock.set(OPEN + timedelta(days=2))
    sender.run_once()
    assert smtp.to(member.user.email) == []


# -- members and the secretariat -------------------------------------------------------


def test_a_members_event_tells_the_member_and_the_secretariat(
    client, member, dg_rtd, sedec, smtp, sender
):
    event = create_event(client, member.headers)
    sender.run_once()
    assert "submitted" in smtp.one_to(member.user.email, "Your event is submitted").text
    for staff in (dg_rtd, sedec):
        to_publish = smtp.one_to(staff.user.email, "To publish:")
        assert member.user.name in to_publish.text
        assert f"POST /events/{event['id']}/publish" in to_publish.text

    client.post(f"/events/{event['id']}/publish", headers=dg_rtd.headers)
    sender.run_once()
    assert smtp.one_to(member.user.email, "Your event is published")


def test_a_kind_turned_off_after_its_mail_was_refused_is_withdrawn(
    client, member, dg_rtd, smtp, sender, clock, db
):
    """The person's wish holds for mail already queued: a message of a kind they turned
    off while it waited for the mail server is withdrawn, not sent; the others go."""
    smtp.stop()
    create_event(client, member.headers)
    sender.run_once()  # "your event is submitted" and "to publish", refused at first
    off = client.patch("/me/notifications", headers=member.headers, json={"own_event": False})
    assert off.status_code == 200, off.text
    smtp.start()
    clock.advance(hours=1)
    sender.run_once()
    assert smtp.to(member.user.email) == []
    assert smtp.one_to(dg_rtd.user.email, "To publish:")
    (own,) = [m for m in outbox(db) if m.kind == "own_event"]
    assert own.status == "withdrawn" and own.last_error.startswith("No longer holds:")


def test_the_seminar_cycle_mails_members_and_the_secretariat(
    client, member, make_account, dg_rtd, sedec, jrc, smtp, sender, clock
):
    from tests.helpers.seminars import CLOSE, OPEN, VOTING_CLOSE, open_seminar, propose

    other_member = make_account("member", "Otto Other", member_state="IT", region="Lazio")
    seminar = open_seminar(client, dg_rtd)
    clock.set(OPEN + timedelta(hours=1))
    sender.run_once()
    opened = smtp.one_to(member.user.email, "Seminar 1 of 2027: the call for topics is open")
    assert "until Friday 15 January 2027, 18:00 Europe/Brussels time (17:00 UTC)" in opened.text
    assert smtp.to(dg_rtd.user.email) == []

    chosen = propose(client, member, seminar["id"])
    other = propose(client, other_member, seminar["id"], title="Another topic")
    clock.set(CLOSE + timedelta(hours=1))
    sender.run_once()
    for account in (member, other_member, dg_rtd, jrc):
        smtp.one_to(account.user.email, "Seminar 1 of 2027: voting on the topics is open")

    clock.set(VOTING_CLOSE + timedelta(hours=1))
    sender.run_once()
    for staff in (dg_rtd, sedec):
        smtp.one_to(staff.user.email, "Seminar 1 of 2027: voting closed")
    assert not [m for m in smtp.to(jrc.user.email) if "voting closed" in m.subject]

    answer = client.put(
        f"/seminars/{seminar['id']}/agreement",
        headers=dg_rtd.headers,
        json={"proposal_id": chosen["id"]},
    )
    assert answer.status_code == 200, answer.text
    sender.run_once()
    awaited = smtp.one_to(sedec.user.email, "Seminar 1 of 2027: DG RTD chose a topic")
    assert f"proposal {chosen['id']}" in awaited.text
    assert not [m for m in smtp.to(dg_rtd.user.email) if "chose a topic" in m.subject]

    client.put(
        f"/seminars/{seminar['id']}/agreement",
        headers=sedec.headers,
        json={"proposal_id": chosen["id"]},
    )
    sender.run_once()
    for staff in (dg_rtd, sedec, jrc):
        smtp.one_to(staff.user.email, "Seminar 1 of 2027: topic agreed")
    assert smtp.one_to(member.user.email, "Seminar 1 of 2027: your proposal was agreed")
    not_selected = smtp.one_to(other_member.user.email, "Seminar 1 of 2027: your proposal was not")
    assert other["title"] in not_selected.text
    # Each notice fired once, however often the sender came round.
    sender.run_once()
    assert len(smtp.to(member.user.email)) == 3


# -- preferences and one-click unsubscribe ---------------------------------------------


def test_preferences_turn_optional_mails_off_and_never_transactional_ones(
    client, participant, dg_rtd, db
):
    answer = client.get("/me/notifications", headers=participant.headers)
    assert answer.status_code == 200
    assert answer.json()["event_reminder"] is True
    assert "registration_confirmed" in answer.json()["always_sent"]

    answer = client.patch(
        "/me/notifications", headers=participant.headers, json={"event_reminder": False}
    )
    assert answer.status_code == 200
    assert answer.json()["event_reminder"] is False and answer.json()["own_event"] is True

    before = client.get("/me/notifications", headers=participant.headers).json()
    refused = client.patch(
        "/me/notifications", headers=participant.headers, json={"registration_confirmed": False}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "registration_confirmed"]
    emptied = client.patch(
        "/me/notifications", headers=participant.headers, json={"own_event": None}
    )
    assert emptied.status_code == 422
    assert client.get("/me/notifications", headers=participant.headers).json() == before
    assert client.get("/me/notifications").status_code == 401


def test_a_change_of_mail_choices_is_in_the_trail_for_its_owner_and_admins(
    client, participant, admin, sedec
):
    """Who turned which mail off, and when, as for every change; the choices themselves
    are the person's own, read by them and by admins, not by the secretariat."""
    client.patch("/me/notifications", headers=participant.headers, json={"event_reminder": True})
    changed = client.patch(
        "/me/notifications",
        headers=participant.headers,
        json={"event_reminder": False, "own_event": True},
    )
    assert changed.status_code == 200
    params = {"entity_type": "user", "entity_id": participant.id}

    def trail(reader) -> list[dict]:
        items = client.get("/audit", headers=reader.headers, params=params).json()["items"]
        return [e for e in items if e["action"] == "user.notifications_changed"]

    [entry] = trail(admin)  # the first change changed nothing: no entry
    assert entry["actor_id"] == participant.id
    assert (entry["before"], entry["after"]) == (
        {"notifications": {"event_reminder": True}},
        {"notifications": {"event_reminder": False}},
    )
    [seen] = trail(sedec)
    assert seen["after"] is None or "notifications" not in seen["after"]
    assert "after.notifications" in seen["hidden"]


def test_a_kind_turned_off_is_not_queued(client, dg_rtd, participant, db, clock, sender):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    client.patch("/me/notifications", headers=participant.headers, json={"event_reminder": False})
    clock.set(STARTS - timedelta(hours=2))
    sender.run_once()
    assert [message.kind for message in outbox(db)] == ["registration_confirmed"]


def test_an_optional_mail_says_in_words_whom_it_is_for(
    client, dg_rtd, participant, smtp, sender, clock
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    clock.set(STARTS - timedelta(hours=2))
    sender.run_once()
    reminder = smtp.one_to(participant.user.email, "Tomorrow")
    assert "You receive this as one of the participants (the day before" in reminder.text


def test_one_click_unsubscribe_turns_off_that_kind_only_without_logging_in(
    client, dg_rtd, participant, smtp, sender, clock, settings
):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    clock.set(STARTS - timedelta(hours=2))
    sender.run_once()
    reminder = smtp.one_to(participant.user.email, "Tomorrow")
    assert reminder.mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(reminder.mail["List-Unsubscribe"]).strip("<>")
    assert link.startswith(f"{settings.base_url}/notifications/unsubscribe/")
    assert link in reminder.text
    path = link.removeprefix(settings.base_url)
    confirmed = smtp.one_to(participant.user.email, "Registration confirmed")
    assert confirmed.mail["List-Unsubscribe"] is None  # about their own registration

    looked = client.get(path)
    assert looked.status_code == 200 and looked.json()["enabled"] is True
    done = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["kind"] == "event_reminder" and done.json()["enabled"] is False
    choices = client.get("/me/notifications", headers=participant.headers).json()
    assert choices["event_reminder"] is False
    assert all(
        value for name, value in choices.items() if name not in ("event_reminder", "always_sent")
    )
    assert client.post(path).status_code == 200  # again: it stays off

    forged = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    assert client.post(forged).status_code == 404
    other_kind = path.replace("event_reminder", "own_event")
    assert client.post(other_kind).status_code == 404


def test_the_unsubscribe_link_opened_in_a_browser_asks_then_stops_those_mails(
    client, participant, db, settings
):
    """The link written in a mail's body is opened in a browser: a page says what it
    stops, with a button; pressing it stops that kind, and the next page says so. The
    page alone changes nothing, as for link checkers; mail programs still get JSON."""
    code = preferences.unsubscribe_code(db, participant.id, "event_reminder")
    path = preferences.unsubscribe_url(settings.base_url, code).removeprefix(settings.base_url)
    asked = open_page(client, path)
    assert "Stop these mails?" in asked.text
    assert KINDS["event_reminder"].description in asked.text
    [form] = [attrs for tag, attrs in asked.tags if tag == "form"]
    assert (form["method"], form.get("action", "")) == ("post", "")
    assert client.get("/me/notifications", headers=participant.headers).json()["event_reminder"]

    stopped = client.post(path, headers=BROWSER, data={"List-Unsubscribe": "One-Click"})
    assert stopped.status_code == 200 and stopped.headers["content-type"].startswith("text/html")
    assert "You no longer receive these mails" in stopped.text
    choices = client.get("/me/notifications", headers=participant.headers).json()
    assert choices["event_reminder"] is False and choices["own_event"] is True
    assert "You no longer receive these mails" in open_page(client, path).text
    assert client.get(path).json()["enabled"] is False  # JSON for every other client

    forged = client.get(
        path[:-4] + ("0000" if not path.endswith("0000") else "1111"), headers=BROWSER
    )
    assert forged.status_code == 404 and "not valid" in forged.text


def test_the_unsubscribe_link_answers_say_they_differ_by_accept(client, participant, db, settings):
    """One address answers a page to browsers and JSON to mail programs: a cache must
    keep the two apart, as it does for the front door."""
    code = preferences.unsubscribe_code(db, participant.id, "event_reminder")
    path = preferences.unsubscribe_url(settings.base_url, code).removeprefix(settings.base_url)
    page = client.get(path, headers=BROWSER)
    assert page.headers["cache-control"] == "private, no-store"  # its address is a secret
    answers = [
        page,
        client.get(path),
        client.post(path, headers=BROWSER, data={"List-Unsubscribe": "One-Click"}),
        client.post(path),
    ]
    assert [answer.headers.get("vary") for answer in answers] == ["Accept"] * len(answers)


def test_a_refused_unsubscribe_link_says_it_differs_by_accept_too(client, participant, db):
    """A link not valid is a JSON 404 to mail programs and a page to browsers: a cache
    that kept the one must not give it for the other."""
    path = f"/notifications/unsubscribe/{participant.id}-event_reminder-{'0' * 32}"
    answers = [client.get(path), client.post(path), client.get(path, headers=BROWSER)]
    assert [answer.status_code for answer in answers] == [404] * 3
    assert [answer.headers.get("vary") for answer in answers] == ["Accept"] * 3


@pytest.mark.parametrize(
    "code",
    [
        "²-event_reminder-abc",
        "①-event_reminder-abc",
        "٣-event_reminder-abc",
        "9" * 100 + "-event_reminder-abc",
        "{user}-event_reminder-%C3%A9",  # a signature that is not ASCII: not a 500
        "{user}-event_reminder-éabc",
    ],
)
def test_an_unsubscribe_link_that_is_not_well_written_is_not_valid(client, participant, code):
    code = code.format(user=participant.id)
    before = client.get("/me/notifications", headers=participant.headers).json()
    for answer in (
        client.get(f"/notifications/unsubscribe/{code}"),
        client.post(f"/notifications/unsubscribe/{code}"),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"] == (
            "This unsubscribe link is not valid; check that it was copied whole"
        )
    assert client.get("/me/notifications", headers=participant.headers).json() == before


# -- accounts: invitations and lost tokens -----------------------------------------------


def test_an_account_an_admin_creates_gets_its_link_by_mail(client, admin, smtp, sender, db):
    answer = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Nina New", "email": "nina@example.eu", "role": "participant"},
    )
    assert answer.status_code == 201, answer.text
    assert outbox(db)[0].secret is not None  # held until delivered
    sender.run_once()
    mail = smtp.one_to("nina@example.eu", "Your KEP 2.0 account")
    link = answer.json()["invitation"]["url"]
    assert link in mail.text
    assert outbox(db)[0].secret is None and link not in outbox(db)[0].body
    path = link.split("://", 1)[1].split("/", 1)[1]
    opened = client.post(f"/{path}")
    assert opened.status_code == 201
    assert opened.json()["token"]["token"] not in mail.mail.as_string()


def test_token_recovery_mails_a_one_time_link_and_answers_alike_for_unknown_addresses(
    client, participant, smtp, sender, db
):
    known = client.post("/token-recovery", json={"email": participant.user.email.upper()})
    unknown = client.post("/token-recovery", json={"email": "nobody@example.eu"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    sender.run_once()
    assert smtp.to("nobody@example.eu") == []
    mail = smtp.one_to(participant.user.email, "KEP 2.0: a link for a new API token")
    link = next(line for line in mail.text.splitlines() if "/invitations/" in line).strip()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    token = client.post(path).json()["token"]["token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post(path).status_code == 409  # once only
    assert token not in mail.mail.as_string()


def test_token_recovery_is_limited_per_address(client, participant, db, settings):
    for _ in range(settings.recovery_per_hour + 2):
        answer = client.post("/token-recovery", json={"email": participant.user.email})
        assert answer.status_code == 202
    sent = [m for m in outbox(db) if m.kind == "token_recovery"]
    assert len(sent) == settings.recovery_per_hour


def test_a_name_that_names_another_address_never_adds_a_recipient(client, smtp, sender):
    """A sign-up's name is anyone's to choose: one long enough to be folded in the To
    header, and quoted for its comma and angle brackets, is still a name."""
    name = " ".join(["Eve"] * 20) + ", <eve@example.org>"
    answer = client.post("/signup", json={"name": name, "email": "olga@example.eu"})
    assert answer.status_code == 202
    sender.run_once()
    (mail,) = smtp.received
    assert mail.recipients == ["olga@example.eu"]
    assert smtp.to("eve@example.org") == []


def test_token_recovery_refuses_what_is_not_an_address(client):
    answer = client.post("/token-recovery", json={"email": "not an address"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "email"]


# -- headers and safety ------------------------------------------------------------------


def test_every_message_has_its_headers_and_no_subject_can_add_one(
    session_factory, settings, clock, participant, smtp, sender
):
    from app.notifications.outbox import Draft, enqueue

    draft = Draft(
        kind="event_reminder",
        key="injection",
        subject="Hello\r\nBcc: victim@example.eu\nX-Evil: 1",
        body="Text",
        user=participant.user,
    )
    with session_factory.begin() as session:
        enqueue(session, draft, settings=settings, now=clock())
    sender.run_once()
    (received,) = smtp.received
    assert received.recipients == [participant.user.email]
    assert received.mail["Bcc"] is None and received.mail["X-Evil"] is None
    assert received.subject == "Hello Bcc: victim@example.eu X-Evil: 1"
    assert received.mail["Message-ID"].endswith("@kep.example.eu>")
    assert received.mail["Date"] is not None
    (sender_address,) = received.mail["From"].addresses
    assert (sender_address.display_name, sender_address.addr_spec) == (
        "KEP 2.0",
        "no-reply@kep.example.eu",
    )
    assert received.mail["To"].addresses[0].display_name == participant.user.name


def test_an_address_that_is_not_one_is_never_queued(session_factory, settings, clock):
    from app.notifications.outbox import Draft, enqueue

    draft = Draft(kind="token_recovery", key="bad", subject="S", body="B", address="a@b@c")
    with session_factory.begin() as session:
        assert enqueue(session, draft, settings=settings, now=clock()) is False


def test_bad_settings_for_mail_are_refused():
    from pydantic import ValidationError

    from app.config import Settings

    for bad in (
        {"smtp_url": "http://mail.example.eu"},
        {"smtp_url": "smtp://"},
        {"smtp_url": "smtp://host:25?tls=1"},
        {"mail_from": "not an address"},
    ):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, **bad)  # type: ignore[call-arg]
    ok = Settings(_env_file=None, smtp_url="smtp://u:p@mail.example.eu:587?starttls=1")  # type: ignore[call-arg]
    assert ok.smtp_url == "smtp://u:p@mail.example.eu:587?starttls=1"


# -- the sender: retries, a server that is down, the outbox view -----------------------


def test_a_server_that_is_down_delays_messages_which_then_go_once(
    client, dg_rtd, participant, smtp, sender, clock, db, mail_settings
):
    event = published_event(client, dg_rtd.headers)
    smtp.stop()
    register(client, participant, event["id"])
    result = sender.run_once()
    assert (result.sent, result.failed) == (0, 1)
    (message,) = outbox(db)
    assert message.status == MessageStatus.pending and message.attempts == 1
    assert "Connection refused" in (message.last_error or "") or message.last_error
    assert message.next_attempt_at == clock() + timedelta(seconds=mail_settings.mail_retry_seconds)

    smtp.start()
    assert sender.run_once().sent == 0  # not due yet
    clock.advance(seconds=mail_settings.mail_retry_seconds)
    assert sender.run_once().sent == 1
    sender.run_once()
    clock.advance(hours=1)
    sender.run_once()
    assert len(smtp.to(participant.user.email)) == 1
    (message,) = outbox(db)
    assert message.status == MessageStatus.sent and message.attempts == 2


def test_the_wait_doubles_and_a_message_fails_after_the_last_attempt(
    client, dg_rtd, participant, smtp, session_factory, mail_settings, clock, db, admin
):
    settings = mail_settings.model_copy(update={"mail_max_attempts": 3})
    sender = Sender(session_factory, settings, clock=clock)
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    smtp.stop()
    waits = []
    for _ in range(3):
        sender.run_once()
        (message,) = outbox(db)
        waits.append(message.next_attempt_at - clock())
        clock.set(message.next_attempt_at)
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=60)]
    (message,) = outbox(db)
    assert message.status == MessageStatus.failed and message.attempts == 3

    listed = client.get("/outbox", headers=admin.headers, params={"status": "failed"}).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["attempts"] == 3 and item["last_error"] and item["kind"] == "registration_confirmed"
    assert "body" not in item and item["next_attempt_at"] is None
    assert client.get("/outbox", headers=participant.headers).status_code == 403
    assert (
        client.get("/outbox", params={"status": "lost"}, headers=admin.headers).status_code == 422
    )

    smtp.start()
    retried = client.post(f"/outbox/{item['id']}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    [entry] = client.get(
        "/audit", headers=admin.headers, params={"entity_type": "outbox", "entity_id": item["id"]}
    ).json()["items"]
    assert (entry["action"], entry["actor_id"]) == ("outbox.retried", admin.id)
    assert entry["before"] == {"status": "failed", "attempts": 3}
    assert entry["after"] == {"status": "pending", "attempts": 0}
    sender.run_once()
    assert len(smtp.to(participant.user.email)) == 1
    again = client.post(f"/outbox/{item['id']}/retry", headers=admin.headers)
    assert again.status_code == 409
    assert client.post("/outbox/999999/retry", headers=admin.headers).status_code == 404


def test_a_failed_link_is_not_sent_again_and_the_answer_says_whose_link_to_renew(
    client, admin, participant, db, clock
):
    """A message that carried a one-time link is never retried (the outbox forgot the
    link when the message failed): the 409 names the account to send a new one to."""
    failed = OutboxMessage(
        idempotency_key="invitation:failed",
        kind="invitation",
        user_id=participant.id,
        recipient=participant.user.email,
        recipient_name=participant.user.name,
        subject="Your account",
        body="(its link forgotten)",
        message_id="<failed@example.eu>",
        status=MessageStatus.failed,
        attempts=3,
        next_attempt_at=clock(),
        last_error="relay refused",
        created_at=clock(),
    )
    db.add(failed)
    db.commit()
    answer = client.post(f"/outbox/{failed.id}/retry", headers=admin.headers)
    assert answer.status_code == 409
    assert f"POST /users/{participant.id}/invitation" in answer.json()["detail"]
    db.refresh(failed)
    assert failed.status == MessageStatus.failed


def test_without_a_mail_server_messages_are_written_as_files(
    client, dg_rtd, participant, session_factory, settings, clock, tmp_path
):
    folder = tmp_path / "mail"
    sender = Sender(session_factory, settings.model_copy(update={"mail_dir": folder}), clock=clock)
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    assert sender.run_once().sent == 1
    (file,) = folder.glob("*.eml")
    text = file.read_text()
    assert f"To: {participant.user.name} <{participant.user.email}>" in text
    assert "METHOD:REQUEST" in text


def test_an_event_body_changes_nothing_when_refused(client, dg_rtd, participant, db):
    event = published_event(client, dg_rtd.headers)
    register(client, participant, event["id"])
    before = len(outbox(db))
    refused = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"starts_at": "2027-03-11T09:30"}
    )
    assert refused.status_code == 422
    assert len(outbox(db)) == before


def test_a_draft_event_notifies_nobody(client, dg_rtd, db):
    create_event(client, dg_rtd.headers, kind="other")
    assert outbox(db) == []


class _StopsTheServerAfterOneMessage:
    """The real SMTP transport, with the server stopped after it accepted one message:
    a mail server going down in the middle of a round."""

    def __init__(self, inner, smtp: SmtpServer) -> None:
        self.inner, self.smtp, self.stopped = inner, smtp, False

    @contextlib.contextmanager
    def connection(self):
        with self.inner.connection() as send:

            def first_then_stop(mail) -> None:
                send(mail)
                if not self.stopped:
                    self.stopped = True
                    self.smtp.stop()

            yield first_then_stop


def test_a_server_that_stops_mid_round_gets_the_rest_later_and_each_once(
    client, dg_rtd, make_account, smtp, session_factory, mail_settings, clock, db
):
    event = published_event(client, dg_rtd.headers)
    people = [make_account("participant") for _ in range(3)]
    for person in people:
        register(client, person, event["id"])
    transport = _StopsTheServerAfterOneMessage(transport_for(mail_settings), smtp)
    sender = Sender(session_factory, mail_settings, transport=transport, clock=clock)
    result = sender.run_once()
    assert (result.sent, result.failed) == (1, 2)
    assert sorted(m.status for m in outbox(db)) == ["pending", "pending", "sent"]

    smtp.start()
    clock.advance(minutes=5)
    assert sender.run_once().sent == 2
    clock.advance(hours=1)
    sender.run_once()
    for person in people:
        assert len(smtp.to(person.user.email)) == 1
    assert {m.status for m in outbox(db)} == {MessageStatus.sent}


def test_kep_worker_once_writes_the_mail_of_a_sign_up_to_the_mail_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    migrate(url)
    app = create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as client:
        answer = client.post("/signup", json={"name": "Sam Signup", "email": "sam@example.eu"})
        assert answer.status_code == 202
    app.state.engine.dispose()
    folder = tmp_path / "mail"
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--once"],
        env={**os.environ, "KEP_DATABASE_URL": url, "KEP_MAIL_DIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 message(s) sent" in result.stdout
    (file,) = folder.glob("*.eml")
    text = file.read_text()
    assert "To: sam@example.eu" in text  # no name: whoever signed up chose it
    assert "/invitations/" in text


def test_the_server_sends_mail_itself_unless_told_not_to_and_stops_its_sender(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    migrate(url)
    folder = tmp_path / "mail"
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        send_mail_in_process=True,
        mail_dir=folder,
        mail_poll_seconds=0.1,
        _env_file=None,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        assert any(t.name == "kep-mail-sender" for t in threading.enumerate())
        client.post("/signup", json={"name": "Sam Signup", "email": "sam@example.eu"})
        deadline = time.monotonic() + 20
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(folder.glob("*.eml"))) == 1
    assert not any(t.name == "kep-mail-sender" for t in threading.enumerate())
    app.state.engine.dispose()

    quiet = create_app(settings.model_copy(update={"send_mail_in_process": False}))
    with TestClient(quiet):
        assert not any(t.name == "kep-mail-sender" for t in threading.enumerate())
    quiet.state.engine.dispose()


def test_a_database_out_of_reach_costs_the_sender_a_line_not_a_traceback(
    tmp_path, mail_settings, clock, caplog
):
    engine = make_engine(f"sqlite:///{tmp_path}/missing/kep.db")
    settings = mail_settings.model_copy(update={"mail_poll_seconds": 0.05})
    sender = Sender(make_sessionmaker(engine), settings, clock=clock)
    sender_log = "app.notifications.sender"
    with caplog.at_level(logging.WARNING, logger=sender_log):
        loop = threading.Thread(target=sender.run)
        loop.start()
        try:  # it goes on trying
            until(lambda: len([r for r in caplog.records if r.name == sender_log]) >= 2)
        finally:
            sender.stop()
        loop.join(timeout=5)
    engine.dispose()
    assert not loop.is_alive()
    records = [r for r in caplog.records if r.name == sender_log]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert "could not use the database" in records[0].getMessage()
