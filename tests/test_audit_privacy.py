"""The audit trail shows personal data only to those who may read it elsewhere in the API.

A story leaves entries of every entity type; then, for each reader of the trail (the
secretariat and an admin), every entry is compared with what that reader gets from the
resource's own endpoint.
"""

import pytest
from sqlalchemy import select

from app.audit.service import ENTITY_TYPES
from app.models import MessageStatus, OutboxMessage
from tests.helpers.events import create_event, published_event
from tests.helpers.seminars import (
    AFTER_VOTING,
    IN_PROPOSALS,
    IN_VOTING,
    open_seminar,
    propose,
    support,
)

PERSONAL_USER_FIELDS = {"name", "email", "member_state", "region"}


@pytest.fixture
def story(client, db, clock, admin, sedec, dg_rtd, member, participant) -> dict:
    created = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Nora New", "email": "nora@example.eu", "role": "participant"},
    ).json()
    public = published_event(client, dg_rtd.headers)
    hidden = create_event(client, member.headers, title="Our valley's next steps")
    assert hidden["status"] == "submitted"
    registration = client.post(f"/events/{public['id']}/registrations", headers=participant.headers)
    assert registration.status_code == 201
    amended = client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={
            "summary": "Urban deployment",
            "communication": {"reference": "A(1)", "date": "2026-11-20"},
        },
    )
    assert amended.status_code == 200
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    message = db.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "registration_confirmed")
    ).one()
    message.status, message.last_error = MessageStatus.failed, "relay refused"
    db.commit()
    assert client.post(f"/outbox/{message.id}/retry", headers=admin.headers).status_code == 200
    return {
        "new_user": created["user"],
        "public_event": public,
        "hidden_event": hidden,
        "proposal": proposal,
        "seminar": seminar,
    }


def trail(client, viewer) -> list[dict]:
    response = client.get("/audit", headers=viewer.headers, params={"limit": 200})
    assert response.status_code == 200
    return response.json()["items"]


def test_the_story_covers_every_entity_type(client, story, sedec):
    assert {entry["entity_type"] for entry in trail(client, sedec)} == ENTITY_TYPES


@pytest.mark.parametrize("reader", ["admin", "jrc"])
def test_account_details_only_for_those_who_read_the_account(client, story, request, reader):
    viewer = request.getfixturevalue(reader)
    for entry in trail(client, viewer):
        if entry["entity_type"] != "user" or entry["action"] != "user.created":
            continue
        account = client.get(f"/users/{entry['entity_id']}", headers=viewer.headers)
        shown = PERSONAL_USER_FIELDS & set(entry["after"])
        if account.status_code == 200:
            assert shown == PERSONAL_USER_FIELDS
            assert entry["after"]["email"] == account.json()["email"]
        else:
            assert account.status_code == 404
            assert shown == set()
            assert {f"after.{field}" for field in PERSONAL_USER_FIELDS} <= set(entry["hidden"])
            assert "@" not in str(entry)


@pytest.mark.parametrize("reader", ["admin", "jrc"])
def test_registrations_only_for_those_who_read_the_registrations(client, story, request, reader):
    viewer = request.getfixturevalue(reader)
    event_id = story["public_event"]["id"]
    listed = client.get(f"/events/{event_id}/registrations", headers=viewer.headers)
    entries = [e for e in trail(client, viewer) if e["entity_type"] == "registration"]
    if listed.status_code == 200:
        assert [e["after"]["user_id"] for e in entries] == [
            r["user"]["id"] for r in listed.json()["items"]
        ]
    else:
        assert listed.status_code == 403
        assert entries == []


@pytest.mark.parametrize("reader", ["admin", "jrc"])
def test_events_only_for_those_who_see_the_event(client, story, request, reader, member):
    viewer = request.getfixturevalue(reader)
    checked = set()
    for entry in trail(client, viewer):
        if entry["entity_type"] != "event":
            continue
        seen = client.get(f"/events/{entry['entity_id']}", headers=viewer.headers)
        if seen.status_code == 200:
            assert entry["after"] is not None and entry["actor_id"] is not None
            assert entry["hidden"] == []
        else:
            assert seen.status_code == 404
            assert (entry["before"], entry["after"], entry["actor_id"]) == (None, None, None)
            assert set(entry["hidden"]) == {"actor_id", "before", "after"}
            assert "valley" not in str(entry) and str(member.id) not in str(entry["after"])
        checked.add(seen.status_code)
    assert checked == ({200} if reader == "jrc" else {200, 404})


@pytest.mark.parametrize("reader", ["admin", "jrc"])
def test_who_supported_a_proposal_is_shown_to_no_one(client, story, request, reader, clock):
    """Supports are counted in the tally, by institution; who gave them is not public, and
    no endpoint names the voters, so neither does the trail."""
    viewer = request.getfixturevalue(reader)
    clock.set(AFTER_VOTING)
    tally = client.get(f"/seminars/{story['seminar']['id']}/tally", headers=viewer.headers)
    assert "voter_id" not in tally.text
    supports = [e for e in trail(client, viewer) if e["action"].startswith("support.")]
    assert supports
    for entry in supports:
        assert entry["actor_id"] is None
        assert "voter_id" not in (entry["after"] or {})
        assert set(entry["hidden"]) == {"actor_id", "after.voter_id"}
        assert entry["after"]["affiliation"] == "cor"  # what the tally shows stays


def test_supports_are_left_out_for_those_who_may_not_read_the_tally_yet(
    client, story, admin, jrc, clock
):
    """While voting is open the tally is the secretariat's alone; the supports given, each
    with its proposal and the voter's institution, would add up to it."""
    seminar = story["seminar"]["id"]
    assert client.get(f"/seminars/{seminar}/tally", headers=admin.headers).status_code == 403
    given = {"entity_type": "proposal", "entity_id": story["proposal"]["id"]}

    def supports(viewer) -> list[dict]:
        answer = client.get("/audit", headers=viewer.headers, params=given).json()
        assert answer["total"] == len(answer["items"])
        return [e for e in answer["items"] if e["action"].startswith("support.")]

    assert supports(admin) == []
    assert len(supports(jrc)) == 1
    clock.set(AFTER_VOTING)
    assert client.get(f"/seminars/{seminar}/tally", headers=admin.headers).status_code == 200
    assert len(supports(admin)) == 1


@pytest.mark.parametrize("reader", ["admin", "jrc"])
def test_public_records_are_shown_whole(client, story, request, reader, member, sedec):
    viewer = request.getfixturevalue(reader)
    entries = trail(client, viewer)
    proposal = next(e for e in entries if e["action"] == "proposal.submitted")
    assert proposal["actor_id"] == member.id  # a proposal's author is public
    assert proposal["after"]["title"] == story["proposal"]["title"]
    assert client.get(f"/proposals/{story['proposal']['id']}").status_code == 200
    for kind in ("seminar", "action"):
        entry = next(e for e in entries if e["entity_type"] == kind)
        assert entry["hidden"] == [] and entry["actor_id"] == sedec.id
