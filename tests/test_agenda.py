"""Agendas: set by the host or the secretariat, confirmed by the secretariat."""

import pytest
from sqlalchemy import func, select

from app.models import AgendaItem
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, published_event, refused, unchanged

ITEMS = [
    {
        "starts_at": "2027-03-10T14:00",
        "ends_at": "2027-03-10T15:30",
        "title": "Panel: valleys and missions",
        "speakers": [
            {"name": "Ana Costa", "affiliation": "Norte region"},
            {"name": "Piet Jansen", "affiliation": "DG RTD"},
        ],
    },
    {
        "starts_at": "2027-03-10T09:30",
        "ends_at": "2027-03-10T10:00",
        "title": "Opening",
        "description": "Welcome by the SEDEC chair.",
        "speakers": [{"name": "Heike Raab", "affiliation": "CoR SEDEC"}],
    },
]


@pytest.fixture
def event(client, dg_rtd):
    return published_event(client, dg_rtd.headers)


def put_agenda(client, event, headers, items=ITEMS):
    return client.put(f"/events/{event['id']}/agenda", headers=headers, json={"items": items})


def test_the_host_sets_an_agenda_and_anyone_reads_it_in_order(client, member, sedec):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    response = put_agenda(client, event, member.headers)
    assert response.status_code == 200, response.text
    agenda = client.get(f"/events/{event['id']}/agenda").json()
    assert [item["title"] for item in agenda["items"]] == ["Opening", "Panel: valleys and missions"]
    assert agenda["items"][0]["starts_at"] == "2027-03-10T08:30:00Z"
    assert agenda["items"][0]["local_starts_at"] == "2027-03-10T09:30:00+01:00"
    assert agenda["items"][1]["speakers"][1] == {"name": "Piet Jansen", "affiliation": "DG RTD"}
    assert agenda["confirmed_at"] is None


def test_the_secretariat_confirms_and_the_confirmation_names_who(client, event, dg_rtd, sedec):
    put_agenda(client, event, dg_rtd.headers)
    confirmed = client.post(f"/events/{event['id']}/agenda/confirm", headers=sedec.headers)
    assert confirmed.status_code == 200
    agenda = client.get(f"/events/{event['id']}/agenda").json()
    assert agenda["confirmed_at"] == "2026-11-25T09:00:00Z"
    assert agenda["confirmed_by"] == {"id": sedec.id, "name": "Sven Sedec"}


def test_a_confirmation_stands_for_the_agenda_that_was_reviewed(
    client, db, event, member, dg_rtd, sedec
):
    """The secretariat reads the agenda, the host replaces it, the secretariat confirms
    what it read: with the ETag of what it read in If-Match, that is a 412, never a
    confirmation of items nobody reviewed."""
    path = f"/events/{event['id']}/agenda"
    put_agenda(client, event, dg_rtd.headers)
    reviewed = client.get(path)
    assert reviewed.headers["etag"].startswith('"')  # strong: If-Match compares strongly
    replaced = put_agenda(client, event, dg_rtd.headers, ITEMS[:1])
    assert replaced.headers["etag"] != reviewed.headers["etag"]
    count = audit_count(db)
    stale = client.post(
        f"{path}/confirm", headers={**sedec.headers, "If-Match": reviewed.headers["etag"]}
    )
    refused(stale, 412, "changed since it was read")
    assert audit_count(db) == count
    assert client.get(path).json()["confirmed_at"] is None
    for weak in (f"W/{replaced.headers['etag']}", '"something else"'):
        refused(
            client.post(f"{path}/confirm", headers={**sedec.headers, "If-Match": weak}),
            412,
            "changed since it was read",
        )
    confirmed = client.post(
        f"{path}/confirm", headers={**sedec.headers, "If-Match": replaced.headers["etag"]}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert [item["title"] for item in confirmed.json()["items"]] == [ITEMS[0]["title"]]
    assert confirmed.headers["etag"] == client.get(path).headers["etag"]


def test_a_copy_of_the_agenda_that_is_current_costs_a_304(client, event, dg_rtd, sedec):
    path = f"/events/{event['id']}/agenda"
    put_agenda(client, event, dg_rtd.headers)
    read = client.get(path)
    tag = read.headers["etag"]
    current = client.get(path, headers={"If-None-Match": tag})
    assert (current.status_code, current.content, current.headers["etag"]) == (304, b"", tag)
    assert client.get(path, headers={"If-None-Match": f"W/{tag}"}).status_code == 304
    client.post(f"{path}/confirm", headers=sedec.headers)
    confirmed = client.get(path, headers={"If-None-Match": tag})
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"]


def test_the_agendas_version_changes_with_the_zone_its_times_are_shown_in(
    client, event, dg_rtd, sedec
):
    """The agenda answers its items' local times in the event's zone: moving the event
    to another zone changes what a reviewer read, so its strong ETag changes too."""
    path = f"/events/{event['id']}/agenda"
    put_agenda(client, event, dg_rtd.headers)
    reviewed = client.get(path)
    moved = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"timezone": "Europe/Lisbon"}
    )
    assert moved.status_code == 200, moved.text
    now = client.get(path)
    assert (
        now.json()["items"][0]["local_starts_at"] != reviewed.json()["items"][0]["local_starts_at"]
    )
    assert now.headers["etag"] != reviewed.headers["etag"]
    stale = client.post(
        f"{path}/confirm", headers={**sedec.headers, "If-Match": reviewed.headers["etag"]}
    )
    refused(stale, 412, "changed since it was read")


def test_a_change_to_the_agenda_clears_the_confirmation(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    put_agenda(client, event, dg_rtd.headers, ITEMS[:1])
    agenda = client.get(f"/events/{event['id']}/agenda").json()
    assert agenda["confirmed_at"] is None
    assert agenda["confirmed_by"] is None


def test_putting_the_same_agenda_again_keeps_the_confirmation(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    put_agenda(client, event, dg_rtd.headers)
    assert client.get(f"/events/{event['id']}/agenda").json()["confirmed_at"] is not None


def test_a_change_to_the_event_times_clears_the_confirmation(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    moved = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"ends_at": "2027-03-10T18:00"}
    )
    assert moved.status_code == 200
    assert moved.json()["agenda_confirmed_at"] is None
    assert client.get(f"/events/{event['id']}/agenda").json()["confirmed_at"] is None


def test_a_title_change_keeps_the_confirmation(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "New title"})
    assert client.get(f"/events/{event['id']}/agenda").json()["confirmed_at"] is not None


def test_moving_the_event_away_from_its_agenda_is_refused(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    response = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"ends_at": "2027-03-10T12:00"}
    )
    assert response.status_code == 409
    assert "Panel: valleys and missions" in detail_of(response)
    assert client.get(f"/events/{event['id']}").json()["ends_at"] == "2027-03-10T16:00:00Z"


def test_an_empty_agenda_cannot_be_confirmed(client, db, event, dg_rtd):
    confirm = f"/events/{event['id']}/agenda/confirm"
    with unchanged(client, db, event["id"], dg_rtd.headers):
        refused(client.post(confirm, headers=dg_rtd.headers), 409, "empty agenda")
    put_agenda(client, event, dg_rtd.headers, [])
    with unchanged(client, db, event["id"], dg_rtd.headers):
        refused(client.post(confirm, headers=dg_rtd.headers), 409, "empty agenda")


def test_only_the_secretariat_confirms(client, db, member, sedec):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    put_agenda(client, event, member.headers)
    with unchanged(client, db, event["id"], sedec.headers):
        response = client.post(f"/events/{event['id']}/agenda/confirm", headers=member.headers)
        refused(response, 403, "This needs the role secretariat")
    assert client.get(f"/events/{event['id']}/agenda").json()["confirmed_at"] is None


def test_only_the_host_and_the_secretariat_set_the_agenda(
    client, event, member, participant, db, dg_rtd
):
    with unchanged(client, db, event["id"], dg_rtd.headers):
        for account in (member, participant):
            refused(
                put_agenda(client, event, account.headers),
                403,
                "needs the role secretariat, or to be the host of event",
            )
        refused(put_agenda(client, event, {}), 401, "Not authenticated")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": "2027-03-10T08:00"}, "must lie within the event"),
        ({"ends_at": "2027-03-10T17:30"}, "must lie within the event"),
        ({"ends_at": "2027-03-10T14:00"}, "must end after it starts"),
        (
            {"starts_at": "2027-03-10T14:00:00-05:00", "ends_at": "2027-03-10T22:00:00Z"},
            "must lie within the event",
        ),
        ({"title": "Line\nbreak"}, "single line"),
        ({"speakers": [{"name": ""}]}, "at least 1 character"),
        ({"speakers": [{"name": "A", "affiliation": "B\tC"}]}, "single line"),
        ({"room": "A1"}, "room"),
    ],
)
def test_bad_agenda_items_are_refused_and_change_nothing(
    client, event, dg_rtd, db, change, message
):
    put_agenda(client, event, dg_rtd.headers)
    before = client.get(f"/events/{event['id']}/agenda").json()
    count = audit_count(db)
    response = put_agenda(client, event, dg_rtd.headers, [{**ITEMS[0], **change}])
    assert response.status_code == 422, response.text
    assert message in response.text
    assert client.get(f"/events/{event['id']}/agenda").json() == before
    assert audit_count(db) == count


def test_a_cancelled_events_agenda_is_frozen(client, db, event, dg_rtd):
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    with unchanged(client, db, event["id"], dg_rtd.headers):
        refused(put_agenda(client, event, dg_rtd.headers), 409, "is cancelled")


def test_an_agenda_change_is_a_new_version_of_a_published_event(client, event, dg_rtd):
    put_agenda(client, event, dg_rtd.headers)
    assert client.get(f"/events/{event['id']}").json()["sequence"] == 1


def test_replacing_the_agenda_leaves_only_the_new_items(client, event, dg_rtd, db):
    put_agenda(client, event, dg_rtd.headers)
    put_agenda(client, event, dg_rtd.headers, ITEMS[1:])
    stored = db.scalar(
        select(func.count()).select_from(AgendaItem).where(AgendaItem.event_id == event["id"])
    )
    assert stored == 1


def test_agenda_changes_and_confirmations_are_audited(client, event, dg_rtd, sedec):
    put_agenda(client, event, dg_rtd.headers)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=sedec.headers)
    entries = client.get(
        "/audit", headers=sedec.headers, params={"entity_type": "event", "entity_id": event["id"]}
    ).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in entries[:2]] == [
        ("agenda.confirmed", sedec.id),
        ("agenda.replaced", dg_rtd.id),
    ]
    assert len(entries[1]["after"]["items"]) == 2


def test_the_agenda_of_a_hidden_event_is_404(client, member):
    event = create_event(client, member.headers)
    assert client.get(f"/events/{event['id']}/agenda").status_code == 404
