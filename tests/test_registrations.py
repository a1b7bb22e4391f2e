"""Registration: places, the waitlist, cancellation and promotion, and who sees whom."""

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, OutboxMessage, Registration
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, published_event, refused, unchanged


@pytest.fixture
def small_event(client, dg_rtd):
    return published_event(client, dg_rtd.headers, capacity=2)


def register(client, event, account):
    return client.post(f"/events/{event['id']}/registrations", headers=account.headers)


def test_register_while_places_remain_then_waitlist_in_order(client, small_event, make_account):
    people = [make_account("participant") for _ in range(4)]
    answers = [register(client, small_event, person) for person in people]
    assert [a.status_code for a in answers] == [201] * 4
    assert [(a.json()["status"], a.json()["position"]) for a in answers] == [
        ("registered", None),
        ("registered", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    event = client.get(f"/events/{small_event['id']}").json()
    assert (event["registered"], event["waitlisted"]) == (2, 2)


def test_registering_again_answers_the_registration_as_it_stands(
    client, db, small_event, participant, dg_rtd, clock
):
    first = register(client, small_event, participant)
    assert first.status_code == 201
    clock.advance(minutes=5)
    with unchanged(client, db, small_event["id"], dg_rtd.headers):
        again = register(client, small_event, participant)
        assert again.status_code == 200, again.text
        assert again.json() == first.json()


def test_registering_again_on_the_waitlist_keeps_the_position(client, small_event, make_account):
    people = [make_account("participant") for _ in range(3)]
    for person in people:
        register(client, small_event, person)
    again = register(client, small_event, people[2])
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["position"]) == ("waitlisted", 1)


def test_one_registration_per_person_is_held_by_the_database(db, small_event, participant):
    from sqlalchemy.exc import IntegrityError

    db.add(
        Registration(
            event_id=small_event["id"], user_id=participant.id, status="registered", queue_number=1
        )
    )
    db.flush()
    one_per_person = (
        "uq_registrations_event_id_user_id|registrations.event_id, registrations.user_id"
    )
    with pytest.raises(IntegrityError, match=one_per_person), db.begin_nested():
        db.add(
            Registration(
                event_id=small_event["id"],
                user_id=participant.id,
                status="waitlisted",
                queue_number=2,
            )
        )
        db.flush()


def test_cancelling_promotes_the_first_on_the_waitlist(client, small_event, make_account, clock):
    first, second, third, fourth = (make_account("participant") for _ in range(4))
    for person in (first, second, third, fourth):
        clock.advance(minutes=1)
        register(client, small_event, person)
    cancelled = client.delete(
        f"/events/{small_event['id']}/registrations/me", headers=second.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    mine = {
        r["event_id"]: r
        for r in client.get("/me/registrations", headers=third.headers).json()["items"]
    }
    assert mine[small_event["id"]]["status"] == "registered"
    waiting = client.get("/me/registrations", headers=fourth.headers).json()["items"]
    assert waiting[0]["position"] == 1


def test_a_waitlisted_person_cancelling_moves_the_others_up(client, small_event, make_account):
    people = [make_account("participant") for _ in range(5)]
    for person in people:
        register(client, small_event, person)
    client.delete(f"/events/{small_event['id']}/registrations/me", headers=people[2].headers)
    last = client.get("/me/registrations", headers=people[4].headers).json()["items"][0]
    assert (last["status"], last["position"]) == ("waitlisted", 2)


def test_register_again_after_cancelling_goes_to_the_back(client, small_event, make_account, clock):
    a, b, c = (make_account("participant") for _ in range(3))
    for person in (a, b, c):
        register(client, small_event, person)
    client.delete(f"/events/{small_event['id']}/registrations/me", headers=a.headers)
    clock.advance(hours=1)
    again = register(client, small_event, a)
    assert again.status_code == 201
    assert (again.json()["status"], again.json()["position"]) == ("waitlisted", 1)
    # The host sees when the place was asked for again; the first registration is kept.
    assert again.json()["registered_at"] == "2026-11-25T10:00:00Z"
    assert again.json()["created_at"] == "2026-11-25T09:00:00Z"


def test_cancelling_a_cancelled_registration_answers_it_as_it_stands(
    client, db, small_event, participant, dg_rtd, clock
):
    register(client, small_event, participant)
    path = f"/events/{small_event['id']}/registrations/me"
    cancelled = client.delete(path, headers=participant.headers)
    assert cancelled.json()["status"] == "cancelled"
    clock.advance(days=200)  # even once the event is over
    with unchanged(client, db, small_event["id"], dg_rtd.headers):
        again = client.delete(path, headers=participant.headers)
        assert again.status_code == 200, again.text
        assert again.json() == cancelled.json()


def test_cancelling_without_a_registration_is_404(client, db, small_event, participant, dg_rtd):
    with unchanged(client, db, small_event["id"], dg_rtd.headers):
        response = client.delete(
            f"/events/{small_event['id']}/registrations/me", headers=participant.headers
        )
        refused(response, 404, "You have no registration")


def test_unlimited_capacity_never_waitlists(client, dg_rtd, make_account):
    event = published_event(client, dg_rtd.headers)
    for _ in range(5):
        assert register(client, event, make_account("member")).json()["status"] == "registered"


def test_cancelled_events_refuse_registration(client, small_event, dg_rtd, participant, db):
    client.post(f"/events/{small_event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    count = audit_count(db)
    response = register(client, small_event, participant)
    assert response.status_code == 409
    assert "cancelled" in detail_of(response)
    assert audit_count(db) == count


def test_past_and_started_events_refuse_registration(
    client, db, small_event, participant, clock, dg_rtd
):
    for moment in (
        clock.now.replace(year=2027, month=3, day=10, hour=9),  # began at 08:30 UTC
        clock.now.replace(year=2027, month=4, day=1),  # long over
    ):
        clock.set(moment)
        with unchanged(client, db, small_event["id"], dg_rtd.headers):
            refused(register(client, small_event, participant), 409, "registration is closed")


def test_unpublished_events_refuse_registration(client, db, member, participant, sedec):
    event = create_event(client, member.headers)
    with unchanged(client, db, event["id"], sedec.headers):
        refused(register(client, event, participant), 404, f"No event with id {event['id']}")
        refused(register(client, event, member), 409, "not published")


def test_anonymous_cannot_register(client, small_event):
    assert client.post(f"/events/{small_event['id']}/registrations").status_code == 401


def test_cancelling_an_event_keeps_its_registrations(client, small_event, dg_rtd, participant):
    register(client, small_event, participant)
    client.post(f"/events/{small_event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    listed = client.get(f"/events/{small_event['id']}/registrations", headers=dg_rtd.headers)
    assert [r["user"]["id"] for r in listed.json()["items"]] == [participant.id]
    [mine] = client.get("/me/registrations", headers=participant.headers).json()["items"]
    assert (mine["status"], mine["event"]["status"]) == ("registered", "cancelled")


def test_lowering_capacity_below_the_registered_count_is_409(client, dg_rtd, make_account):
    event = published_event(client, dg_rtd.headers, capacity=3)
    for _ in range(3):
        register(client, event, make_account("participant"))
    response = client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"capacity": 2})
    assert response.status_code == 409
    assert "3 people hold a place" in detail_of(response)
    assert client.get(f"/events/{event['id']}").json()["capacity"] == 3


def test_raising_capacity_promotes_from_the_waitlist(client, small_event, dg_rtd, make_account):
    people = [make_account("participant") for _ in range(5)]
    for person in people:
        register(client, small_event, person)
    raised = client.patch(
        f"/events/{small_event['id']}", headers=dg_rtd.headers, json={"capacity": 4}
    ).json()
    assert (raised["registered"], raised["waitlisted"]) == (4, 1)
    unlimited = client.patch(
        f"/events/{small_event['id']}", headers=dg_rtd.headers, json={"capacity": None}
    ).json()
    assert (unlimited["registered"], unlimited["waitlisted"]) == (5, 0)


def test_the_waitlist_is_not_promoted_once_the_event_has_begun(
    client, db, small_event, dg_rtd, make_account, clock
):
    people = [make_account("participant") for _ in range(4)]
    for person in people:
        register(client, small_event, person)
    path = f"/events/{small_event['id']}"
    promotions = select(func.count()).where(AuditEntry.action == "registration.promoted")
    places_offered = select(func.count()).where(OutboxMessage.subject.startswith("A place is"))
    for moment, change in (
        # during the event (08:30 to 16:00 UTC): a place given up is not handed on
        (clock.now.replace(year=2027, month=3, day=10, hour=12), "cancel"),
        # once it is over: more places change nothing for those who waited
        (clock.now.replace(year=2027, month=3, day=12), "capacity"),
    ):
        clock.set(moment)
        if change == "cancel":
            answer = client.delete(f"{path}/registrations/me", headers=people[0].headers)
        else:
            answer = client.patch(path, headers=dg_rtd.headers, json={"capacity": 10})
        assert answer.status_code == 200, answer.text
        event = client.get(path).json()
        assert (event["registered"], event["waitlisted"]) == (1, 2)
        waiting = client.get("/me/registrations", headers=people[2].headers).json()["items"]
        assert (waiting[0]["status"], waiting[0]["position"]) == ("waitlisted", 1)
        assert (db.scalar(promotions), db.scalar(places_offered)) == (0, 0)
    assert client.get(path).json()["capacity"] == 10


def test_a_begun_event_moved_to_a_later_day_promotes_those_who_waited_first(
    client, small_event, dg_rtd, make_account, clock
):
    """A place given up during the event waits, unoffered; when the event is moved to a
    later day, registration opens again and the place goes to the head of the waitlist,
    not to whoever registers next."""
    people = [make_account("participant") for _ in range(4)]
    for person in people[:3]:
        register(client, small_event, person)
    path = f"/events/{small_event['id']}"
    clock.set(clock.now.replace(year=2027, month=3, day=10, hour=12))  # under way
    assert client.delete(f"{path}/registrations/me", headers=people[0].headers).status_code == 200
    moved = client.patch(
        path,
        headers=dg_rtd.headers,
        json={"starts_at": "2027-03-17T09:30", "ends_at": "2027-03-17T17:00"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["registered"], moved.json()["waitlisted"]) == (2, 0)
    waited = client.get("/me/registrations", headers=people[2].headers).json()["items"]
    assert waited[0]["status"] == "registered"
    assert register(client, small_event, people[3]).json()["status"] == "waitlisted"


def test_only_host_and_secretariat_see_who_registered(
    client, member, sedec, participant, make_account
):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    register(client, event, participant)
    path = f"/events/{event['id']}/registrations"
    assert client.get(path, headers=member.headers).status_code == 200
    assert (
        client.get(path, headers=sedec.headers).json()["items"][0]["user"]["id"] == participant.id
    )
    for account in (participant, make_account("member")):
        refused(
            client.get(path, headers=account.headers),
            403,
            "needs the role secretariat, or to be the host of event",
        )
    refused(client.get(path), 401, "Not authenticated")
    assert "registrations" not in str(client.get(f"/events/{event['id']}").json().keys())


def test_my_registrations_are_mine_only(client, small_event, participant, member):
    register(client, small_event, participant)
    mine = client.get("/me/registrations", headers=participant.headers).json()["items"]
    assert [(r["event_id"], r["status"]) for r in mine] == [(small_event["id"], "registered")]
    assert client.get("/me/registrations", headers=member.headers).json()["items"] == []


def test_my_registrations_say_what_where_and_when(client, dg_rtd, participant):
    event = published_event(
        client,
        dg_rtd.headers,
        title="Smart specialisation in Norte",
        starts_at="2027-01-20T10:00",
        ends_at="2027-01-20T13:00",
        timezone="Europe/Lisbon",
        venue={"name": "Alfândega do Porto", "city": "Porto", "country": "PT"},
    )
    register(client, event, participant)
    [mine] = client.get("/me/registrations", headers=participant.headers).json()["items"]
    assert mine["event"] == {
        "id": event["id"],
        "title": "Smart specialisation in Norte",
        "kind": "other",
        "status": "published",
        "starts_at": "2027-01-20T10:00:00Z",
        "timezone": "Europe/Lisbon",
        "local_starts_at": "2027-01-20T10:00:00+00:00",  # Lisbon in winter: +00:00, not Z
        "local_ends_at": "2027-01-20T13:00:00+00:00",
        "venue": {"name": "Alfândega do Porto", "address": None, "city": "Porto", "country": "PT"},
        "online_url": None,
    }


def test_the_host_sees_what_they_need_to_run_the_event(client, member, sedec, make_account):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    guest = make_account("member", "Gia Guest", member_state="IT", region="Lazio")
    register(client, event, guest)
    register(client, event, sedec)
    listed = client.get(f"/events/{event['id']}/registrations", headers=member.headers).json()
    assert listed["total"] == 2
    first, second = listed["items"]
    assert first["user"] == {
        "id": guest.id,
        "name": "Gia Guest",
        "email": guest.user.email,
        "role": "member",
        "institution": None,
        "member_state": "IT",
    }
    assert first["registered_at"] == "2026-11-25T09:00:00Z"
    assert (second["user"]["institution"], second["user"]["member_state"]) == ("cor_sedec", None)


def test_registrations_are_audited(client, small_event, make_account, dg_rtd):
    a, b, c = (make_account("participant") for _ in range(3))
    for person in (a, b, c):
        register(client, small_event, person)
    client.delete(f"/events/{small_event['id']}/registrations/me", headers=a.headers)
    entries = client.get(
        "/audit", headers=dg_rtd.headers, params={"entity_type": "registration"}
    ).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in entries[:2]] == [
        ("registration.promoted", a.id),
        ("registration.cancelled", a.id),
    ]
    assert entries[0]["after"]["user_id"] == c.id


def test_an_admin_does_not_learn_who_registered_from_the_audit_trail(
    client, small_event, participant, admin, sedec
):
    register(client, small_event, participant)
    params = {"entity_type": "registration"}
    assert client.get("/audit", headers=admin.headers, params=params).json()["total"] == 0
    everything = client.get("/audit", headers=admin.headers, params={"limit": 200}).json()
    assert all(entry["entity_type"] != "registration" for entry in everything["items"])
    assert client.get("/audit", headers=sedec.headers, params=params).json()["total"] == 1


def test_a_registration_costs_seven_statements_for_an_empty_or_a_busy_event(
    client, dg_rtd, make_account, count_queries
):
    """Who calls; the event, locked; its standing and the person's own registration, in
    one statement; the registration and its audit entry; the event's version with the
    VEVENT the feeds keep and the last SEQUENCE the person was sent; the message."""
    quiet, busy = (published_event(client, dg_rtd.headers) for _ in range(2))
    for _ in range(6):
        assert register(client, busy, make_account("participant")).status_code == 201
    costs = []
    for event in (quiet, busy):
        person = make_account("participant")
        assert client.get("/me", headers=person.headers).status_code == 200  # its use noted
        with count_queries() as counted:
            assert register(client, event, person).status_code == 201
        costs.append(len(counted.statements))
    assert costs == [7, 7]
