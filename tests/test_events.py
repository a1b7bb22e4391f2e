"""Events: creation by members and the secretariat, visibility, editing, links to the plan."""

import json

import pytest
from sqlalchemy import func, select

from app.models import Event
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, event_body, published_event, refused, unchanged


def event_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Event))


# -- who creates what -----------------------------------------------------------------


def test_member_creates_a_peer_to_peer_event_they_host_and_it_waits_for_publication(
    client, member, participant
):
    event = create_event(client, member.headers)
    assert event["kind"] == "peer_to_peer"
    assert event["status"] == "submitted"
    assert event["host"] == {"id": member.id, "name": "Maria Member"}
    assert event["sequence"] == 0
    assert client.get(f"/events/{event['id']}").status_code == 404
    assert client.get(f"/events/{event['id']}", headers=participant.headers).status_code == 404
    assert client.get(f"/events/{event['id']}", headers=member.headers).status_code == 200
    assert client.get("/events").json()["total"] == 0


def test_secretariat_publishes_a_submitted_event_and_everyone_sees_it(client, member, sedec):
    event = create_event(client, member.headers)
    published = client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert client.get(f"/events/{event['id']}").json()["status"] == "published"
    assert [e["id"] for e in client.get("/events").json()["items"]] == [event["id"]]


def test_member_cannot_create_other_kinds_or_publish(client, member, db):
    count = event_count(db)
    other = client.post("/events", headers=member.headers, json=event_body(kind="joint_seminar"))
    assert other.status_code == 403
    assert "peer_to_peer" in detail_of(other)
    published = client.post("/events", headers=member.headers, json=event_body(status="published"))
    refused(published, 403, "leave status out")
    event = create_event(client, member.headers)
    assert event_count(db) == count + 1
    with unchanged(client, db, event["id"], member.headers):
        publish = client.post(f"/events/{event['id']}/publish", headers=member.headers)
        refused(publish, 403, "This needs the role secretariat")


@pytest.mark.parametrize("role", ["participant", "admin"])
def test_participants_and_admins_do_not_create_events(client, make_account, role, db):
    account = make_account(role)
    count = event_count(db)
    response = client.post("/events", headers=account.headers, json=event_body())
    assert response.status_code == 403
    assert event_count(db) == count


def test_anonymous_cannot_create_events(client):
    assert client.post("/events", json=event_body()).status_code == 401


def test_secretariat_creates_any_kind_as_draft_or_published(client, dg_rtd):
    draft = create_event(client, dg_rtd.headers, kind="joint_seminar")
    assert draft["status"] == "draft"
    assert draft["host"] is None
    assert client.get(f"/events/{draft['id']}").status_code == 404
    published = create_event(client, dg_rtd.headers, kind="other", status="published")
    assert published["status"] == "published"
    assert published["published_at"] is not None
    assert client.get(f"/events/{published['id']}").status_code == 200


def test_secretariat_must_name_the_kind(client, dg_rtd):
    response = client.post("/events", headers=dg_rtd.headers, json=event_body())
    assert response.status_code == 422
    assert "kind" in detail_of(response)


def test_publishing_a_published_event_answers_it_as_it_stands(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.post(f"/events/{event['id']}/publish", headers=dg_rtd.headers)
        assert response.status_code == 200, response.text
        assert response.json() == event


def test_a_cancelled_event_is_not_published(client, db, dg_rtd):
    event = create_event(client, dg_rtd.headers, kind="other")
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Off"})
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.post(f"/events/{event['id']}/publish", headers=dg_rtd.headers)
        refused(response, 409, "is cancelled")


# -- editing --------------------------------------------------------------------------


def test_host_and_secretariat_edit_nobody_else(client, db, member, sedec, make_account):
    event = create_event(client, member.headers)
    other_member = make_account("member")
    path = f"/events/{event['id']}"
    client.post(f"{path}/publish", headers=sedec.headers)
    with unchanged(client, db, event["id"], sedec.headers):
        response = client.patch(path, headers=other_member.headers, json={"title": "Mine"})
        refused(response, 403, "needs the role secretariat, or to be the host of event")
    by_host = client.patch(path, headers=member.headers, json={"title": "Host's title"})
    assert by_host.status_code == 200
    by_secretariat = client.patch(path, headers=sedec.headers, json={"title": "Edited"})
    assert by_secretariat.json()["title"] == "Edited"


def test_every_change_to_a_published_event_increments_sequence(client, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    assert event["sequence"] == 0
    clock.advance(hours=1)
    first = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"description": "More"}
    ).json()
    assert first["sequence"] == 1
    assert first["updated_at"] > event["updated_at"]
    second = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"capacity": 80}
    ).json()
    assert second["sequence"] == 2


def test_an_edit_that_changes_nothing_keeps_the_sequence(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    same = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": event["title"]}
    ).json()
    assert same["sequence"] == 0


def test_host_cancels_with_a_reason_and_the_event_stays_visible(client, db, member, sedec):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    response = client.post(
        f"/events/{event['id']}/cancel", headers=member.headers, json={"reason": "Venue closed"}
    )
    assert response.status_code == 200
    cancelled = client.get(f"/events/{event['id']}").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "Venue closed"
    assert cancelled["sequence"] == 1
    with unchanged(client, db, event["id"], sedec.headers):
        again = client.post(
            f"/events/{event['id']}/cancel", headers=member.headers, json={"reason": "Again"}
        )
        assert again.status_code == 200, again.text
        assert again.json() == cancelled  # the first reason stands
        edit = client.patch(f"/events/{event['id']}", headers=sedec.headers, json={"title": "New"})
        refused(edit, 409, "is cancelled; it can no longer be changed")
        same = client.patch(
            f"/events/{event['id']}", headers=sedec.headers, json={"title": cancelled["title"]}
        )
        assert same.status_code == 200, same.text
        assert same.json() == cancelled


def test_others_cannot_cancel(client, db, dg_rtd, participant, member):
    event = published_event(client, dg_rtd.headers)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        for account in (participant, member):
            response = client.post(
                f"/events/{event['id']}/cancel", headers=account.headers, json={"reason": "No"}
            )
            refused(response, 403, "needs the role secretariat, or to be the host of event")


def test_cancel_needs_a_reason(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_a_cancelled_draft_never_becomes_public(client, dg_rtd):
    event = create_event(client, dg_rtd.headers, kind="other")
    cancelled = client.post(
        f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    seen = client.get(f"/events/{event['id']}", headers=dg_rtd.headers).json()
    assert seen["status"] == "cancelled"
    assert client.get(f"/events/{event['id']}").status_code == 404
    listed = client.get("/events", params={"status": "cancelled"}).json()["items"]
    assert event["id"] not in [item["id"] for item in listed]


# -- the kind of an event -------------------------------------------------------------


def _audited(client, headers, event_id) -> list[dict]:
    return client.get(
        "/audit", headers=headers, params={"entity_type": "event", "entity_id": event_id}
    ).json()["items"]


def test_secretariat_changes_an_event_between_peer_to_peer_and_other(client, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers, kind="other")
    clock.advance(hours=1)
    path = f"/events/{event['id']}"
    changed = client.patch(path, headers=dg_rtd.headers, json={"kind": "peer_to_peer"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["kind"] == "peer_to_peer"
    assert changed.json()["sequence"] == 1
    assert changed.json()["updated_at"] > event["updated_at"]
    [entry, _created] = _audited(client, dg_rtd.headers, event["id"])
    assert entry["action"] == "event.updated"
    assert (entry["before"]["kind"], entry["after"]["kind"]) == ("other", "peer_to_peer")
    back = client.patch(path, headers=dg_rtd.headers, json={"kind": "other"}).json()
    assert (back["kind"], back["sequence"]) == ("other", 2)
    assert client.get(path).json() == back


def test_the_same_kind_again_changes_nothing(client, db, dg_rtd, member, sedec):
    event = published_event(client, dg_rtd.headers, kind="other")
    hosted = create_event(client, member.headers)
    for account, shown in ((dg_rtd, event), (member, hosted)):
        with unchanged(client, db, shown["id"], sedec.headers):
            same = client.patch(
                f"/events/{shown['id']}", headers=account.headers, json={"kind": shown["kind"]}
            )
            assert same.status_code == 200, same.text
            assert same.json() == shown


def test_a_hosts_event_stays_peer_to_peer(client, db, member, sedec):
    event = create_event(client, member.headers)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    path = f"/events/{event['id']}"
    with unchanged(client, db, event["id"], sedec.headers):
        by_host = client.patch(path, headers=member.headers, json={"kind": "other"})
        refused(by_host, 403, "members host peer_to_peer events")
        by_secretariat = client.patch(path, headers=sedec.headers, json={"kind": "other"})
        refused(by_secretariat, 409, "is hosted by Maria Member")
        with_other_change = client.patch(
            path, headers=member.headers, json={"kind": "other", "title": "Renamed"}
        )
        refused(with_other_change, 403, "members host peer_to_peer events")


@pytest.mark.parametrize(
    ("kind", "new_kind"),
    [
        ("other", "joint_seminar"),
        ("peer_to_peer", "joint_seminar"),
        ("joint_seminar", "other"),
        ("joint_seminar", "peer_to_peer"),
    ],
)
def test_no_edit_makes_or_unmakes_a_joint_seminar(client, db, dg_rtd, kind, new_kind):
    event = published_event(client, dg_rtd.headers, kind=kind)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.patch(
            f"/events/{event['id']}", headers=dg_rtd.headers, json={"kind": new_kind}
        )
        refused(response, 422, "scheduling the agreed seminar")
        assert response.json()["detail"][0]["loc"] == ["body", "kind"]


def test_a_kind_is_changed_but_never_emptied(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.patch(
            f"/events/{event['id']}", headers=dg_rtd.headers, json={"kind": None}
        )
        refused(response, 422, "kind")
        bad = client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"kind": "party"})
        refused(bad, 422, "joint_seminar")


def test_a_cancelled_event_keeps_its_kind(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.patch(
            f"/events/{event['id']}", headers=dg_rtd.headers, json={"kind": "peer_to_peer"}
        )
        refused(response, 409, "is cancelled")


def test_an_event_is_edited_with_the_fields_it_is_created_with(client):
    """The fields PRODUCT.md lists for POST /events and PATCH /events/{id}, as the
    OpenAPI document describes both bodies."""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def fields(method: str, path: str) -> set[str]:
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
        return set(schemas[body["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"])

    listed = {
        "title",
        "description",
        "kind",
        "starts_at",
        "ends_at",
        "timezone",
        "venue",
        "online_url",
        "capacity",
        "actions",
        "priority_areas",
    }
    assert fields("post", "/events") - {"status"} == listed
    assert fields("patch", "/events/{event_id}") == listed
    kind = schemas["EventUpdate"]["properties"]["kind"]
    assert "joint_seminar" in kind["description"]


# -- links to the plan ----------------------------------------------------------------


def test_priority_areas_default_to_the_union_of_the_actions(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, actions=[7, 9])
    assert event["actions"] == [7, 9]
    assert event["priority_areas"] == [1, 3, 4]


def test_an_event_may_name_fewer_priority_areas(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, actions=[3], priority_areas=[2])
    assert event["priority_areas"] == [2]


def test_a_priority_area_no_action_serves_is_422_naming_both(client, dg_rtd, db):
    count = event_count(db)
    response = client.post(
        "/events",
        headers=dg_rtd.headers,
        json=event_body(kind="other", actions=[2, 5], priority_areas=[1, 4]),
    )
    assert response.status_code == 422
    detail = detail_of(response)
    assert "Priority area 4" in detail
    assert "2, 5" in detail
    assert event_count(db) == count


@pytest.mark.parametrize(
    ("actions", "message"),
    [([], "at least 1 item"), ([99], "Unknown action 99"), ([3, 42], "Unknown action 42")],
)
def test_unknown_or_missing_actions_are_422(client, dg_rtd, db, actions, message):
    count = event_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", actions=actions)
    )
    assert response.status_code == 422
    assert message in response.text
    assert event_count(db) == count


def test_a_retired_action_takes_no_new_events_but_keeps_its_old_ones(client, db, dg_rtd, sedec):
    old = published_event(client, dg_rtd.headers, actions=[5, 6])
    client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "retired", "communication": {"reference": "R-1", "date": "2026-11-05"}},
    )
    count, audits = event_count(db), audit_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", actions=[5])
    )
    refused(response, 422, "Action 5 is retired")
    assert (event_count(db), audit_count(db)) == (count, audits)
    assert client.get(f"/events/{old['id']}").json()["actions"] == [5, 6]
    edited = client.patch(
        f"/events/{old['id']}", headers=dg_rtd.headers, json={"title": "Still linked"}
    )
    assert edited.json()["actions"] == [5, 6]
    relinked = client.patch(
        f"/events/{old['id']}", headers=dg_rtd.headers, json={"actions": [5, 6, 1]}
    )
    assert relinked.status_code == 200
    assert relinked.json()["actions"] == [1, 5, 6]


def test_changing_actions_recomputes_the_default_priority_areas(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, actions=[2])
    changed = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"actions": [11]}
    ).json()
    assert changed["priority_areas"] == [2]


@pytest.mark.parametrize(
    ("actions", "priority_areas", "sent"),
    [([3], [2], [3]), ([3, 7], [1], [7, 3]), ([3, 7], [1], [3, 7, 3])],
)
def test_the_same_actions_again_keep_the_priority_areas_and_change_nothing(
    client, db, dg_rtd, actions, priority_areas, sent
):
    event = published_event(client, dg_rtd.headers, actions=actions, priority_areas=priority_areas)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        same = client.patch(
            f"/events/{event['id']}", headers=dg_rtd.headers, json={"actions": sent}
        )
        assert same.status_code == 200, same.text
        assert same.json() == event  # priority areas as named, sequence untouched


def test_the_same_actions_with_other_priority_areas_change_only_those(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, actions=[3], priority_areas=[2])
    changed = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"actions": [3], "priority_areas": [1, 2]},
    ).json()
    assert (changed["actions"], changed["priority_areas"], changed["sequence"]) == ([3], [1, 2], 1)


def test_links_made_before_an_amendment_may_be_named_again_with_the_same_actions(
    client, db, dg_rtd, sedec
):
    """An event serving priority area 1 through action 2 keeps that link when the plan
    moves action 2 to area 2, and an edit naming the same links again (as a form sends
    them back) is accepted; new actions must serve every area named with them."""
    event = published_event(client, dg_rtd.headers, actions=[2], priority_areas=[1])
    amended = client.patch(
        "/actions/2",
        headers=sedec.headers,
        json={"priority_areas": [2], "communication": {"reference": "R-1", "date": "2026-11-20"}},
    )
    assert amended.status_code == 200, amended.text
    event = client.get(f"/events/{event['id']}").json()
    with unchanged(client, db, event["id"], dg_rtd.headers):
        same = client.patch(
            f"/events/{event['id']}",
            headers=dg_rtd.headers,
            json={"actions": [2], "priority_areas": [1]},
        )
        assert same.status_code == 200, same.text
    widened = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"priority_areas": [1, 2]}
    )
    assert widened.json()["priority_areas"] == [1, 2]
    moved = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"actions": [2, 11], "priority_areas": [1]},
    )
    assert moved.status_code == 422
    assert "Priority area 1 is served by none of the actions 2, 11" in moved.text


def test_new_actions_without_priority_areas_take_all_those_they_serve(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, actions=[3], priority_areas=[2])
    changed = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"actions": [3, 9]}
    ).json()
    assert (changed["actions"], changed["priority_areas"], changed["sequence"]) == (
        [3, 9],
        [1, 2, 3, 4],
        1,
    )


# -- time -----------------------------------------------------------------------------


def test_local_times_are_read_in_the_zone_and_answered_both_ways(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, starts_at="2027-03-10T09:30")
    assert event["starts_at"] == "2027-03-10T08:30:00Z"
    assert event["local_starts_at"] == "2027-03-10T09:30:00+01:00"
    assert event["timezone"] == "Europe/Brussels"


def test_times_with_an_offset_are_instants(client, dg_rtd):
    event = published_event(
        client,
        dg_rtd.headers,
        starts_at="2027-07-01T10:00:00+03:00",
        ends_at="2027-07-01T12:00:00Z",
        timezone="Europe/Helsinki",
    )
    assert event["starts_at"] == "2027-07-01T07:00:00Z"
    assert event["local_starts_at"] == "2027-07-01T10:00:00+03:00"
    assert event["local_ends_at"] == "2027-07-01T15:00:00+03:00"


def test_an_event_may_span_several_days(client, dg_rtd):
    event = published_event(
        client, dg_rtd.headers, starts_at="2027-05-03T09:00", ends_at="2027-05-05T13:00"
    )
    assert event["ends_at"] == "2027-05-05T11:00:00Z"


def test_an_event_across_the_daylight_saving_change_keeps_both_offsets(client, dg_rtd):
    event = published_event(
        client, dg_rtd.headers, starts_at="2027-03-27T10:00", ends_at="2027-03-28T16:00"
    )
    assert event["local_starts_at"].endswith("+01:00")
    assert event["local_ends_at"].endswith("+02:00")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"starts_at": "2027-03-28T02:30", "ends_at": "2027-03-28T05:00"}, "does not exist"),
        ({"starts_at": "2027-10-31T02:30", "ends_at": "2027-10-31T05:00"}, "happens twice"),
        ({"timezone": "Europe/Atlantis"}, "region zone of the IANA tz database"),
        ({"timezone": "../../etc/passwd"}, "region zone of the IANA tz database"),
        ({"ends_at": "2027-03-10T09:00"}, "ends_at must be after starts_at"),
        ({"ends_at": "2027-03-10T09:30"}, "ends_at must be after starts_at"),
        ({"ends_at": "2027-05-10T09:30"}, "at most 31 days"),
        ({"starts_at": "1899-01-01T10:00", "ends_at": "1899-01-01T12:00"}, "between 2000"),
        ({"starts_at": "0001-01-01T00:00", "timezone": "Asia/Tokyo"}, "between 2000"),
        ({"ends_at": "9999-12-31T23:00:00-05:00"}, "between 2000"),
        ({"starts_at": "2027-02-30T10:00"}, "starts_at"),
        ({"starts_at": "yesterday"}, "starts_at"),
    ],
)
def test_impossible_times_are_422_and_write_nothing(client, dg_rtd, db, overrides, message):
    count, audits = event_count(db), audit_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", **overrides)
    )
    assert response.status_code == 422, response.text
    assert message in response.text
    assert (event_count(db), audit_count(db)) == (count, audits)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "Two\nlines"}, "single line"),
        ({"title": "Bell\x07"}, "single line"),
        ({"title": ""}, "at least 1 character"),
        ({"title": "x" * 201}, "at most 200 characters"),
        ({"description": "x" * 10_001}, "at most 10000 characters"),
        ({"venue": None, "online_url": None}, "venue, an online_url, or both"),
        ({"online_url": "ftp://example.eu/x"}, "URL scheme should be 'http' or 'https'"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"venue": {"name": "Hall", "country": "XX"}}, "not an ISO 3166"),
        ({"venue": {"name": "Hall", "country": "\u00df"}}, "not an ISO 3166"),  # "SS" upper-cased
        ({"online_url": "https://example.eu/" + " a" * 990}, "at most 2000 characters"),
        ({"capacity": True}, "valid integer"),
        ({"actions": ["3"]}, "valid integer"),
        ({"venue": {"name": "Hall\r\nInjected: yes"}}, "single line"),
        ({"capacity": 0}, "greater than or equal to 1"),
        ({"capacity": -5}, "greater than or equal to 1"),
        ({"kind": "party"}, "kind"),
        ({"priority_areas": [5]}, "Unknown priority area 5"),
        ({"colour": "blue"}, "colour"),
        ({"title": "lone \ud800 surrogate"}, "title"),
        ({"description": "lone \udfff surrogate"}, "description"),
        ({"timezone": "Europe/\ud800"}, "timezone"),
    ],
)
def test_bad_event_input_is_422_and_writes_nothing(client, dg_rtd, db, overrides, message):
    count, audits = event_count(db), audit_count(db)
    response = client.post(
        "/events",
        headers={**dg_rtd.headers, "Content-Type": "application/json"},
        # json.dumps escapes lone surrogates as JSON allows; UTF-8 could not carry them
        content=json.dumps(event_body(**{"kind": "other", **overrides})),
    )
    assert response.status_code == 422, response.text
    assert message in response.text
    assert (event_count(db), audit_count(db)) == (count, audits)


# -- text as people paste it ------------------------------------------------------------


def test_windows_and_old_mac_line_endings_are_stored_as_newlines(client, dg_rtd):
    event = published_event(
        client, dg_rtd.headers, description="Agenda:\r\n- welcome\r\n- panel\r- close\r\n"
    )
    assert event["description"] == "Agenda:\n- welcome\n- panel\n- close"
    edited = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"description": "One\r\nTwo"}
    ).json()
    assert edited["description"] == "One\nTwo"


@pytest.mark.parametrize(
    "title",
    [
        "Innovations\u00adökosysteme in Regionen",  # a soft hyphen
        "Families \U0001f468\u200d\U0001f469\u200d\U0001f467 and science",  # joiners in emoji
        "Talk by \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # a non-joiner in Persian
    ],
)
def test_invisible_characters_that_belong_to_text_are_kept(client, dg_rtd, title):
    event = published_event(client, dg_rtd.headers, title=title, venue={"name": title})
    assert event["title"] == title
    assert event["venue"]["name"] == title
    assert client.get(f"/events/{event['id']}").json()["title"] == title


@pytest.mark.parametrize(
    ("overrides", "where", "message"),
    [
        ({"title": "Bell\x07"}, "title", "control characters: U+0007 at position 5"),
        ({"title": "Two\nlines"}, "title", "single line without control characters: U+000A at"),
        ({"title": "  Tab\there"}, "title", "control characters: U+0009 at position 6"),
        ({"title": "Next\x85line"}, "title", "control characters: U+0085 at position 5"),
        ({"title": "Line\u2028separator"}, "title", "U+2028 at position 5 (LINE SEPARATOR)"),
        ({"title": "zero\u200bwidth"}, "title", "U+200B at position 5 (ZERO WIDTH SPACE)"),
        (
            {"description": "Bell\r\n\x07"},
            "description",
            "control characters: U+0007 at position 7",
        ),
        ({"description": "C1 \x9b"}, "description", "control characters: U+009B at position 4"),
        ({"title": "evil\u202egnp.exe"}, "title", "reorder text: U+202E at position 5"),
        ({"title": "a\u202ab"}, "title", "U+202A at position 2"),
        ({"title": "a\u2066b\u2069"}, "title", "U+2066 at position 2"),
        ({"description": "x\u2069"}, "description", "U+2069 at position 2"),
        ({"venue": {"name": "Hall\u202d"}}, "venue", "U+202D at position 5"),
    ],
)
def test_control_and_reordering_characters_are_refused_naming_them(
    client, dg_rtd, db, overrides, where, message
):
    count, audits = event_count(db), audit_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", **overrides)
    )
    refused(response, 422, message)
    assert response.json()["detail"][0]["loc"][:2] == ["body", where]
    assert (event_count(db), audit_count(db)) == (count, audits)


def test_reordering_characters_are_refused_in_an_edit_and_change_nothing(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.patch(
            f"/events/{event['id']}",
            headers=dg_rtd.headers,
            json={"description": "Fine\r\nuntil \u202eđ"},
        )
        refused(response, 422, "U+202E at position 13")


def test_an_online_only_event_is_fine(client, dg_rtd):
    event = published_event(
        client, dg_rtd.headers, venue=None, online_url="https://webcast.example.eu/kep"
    )
    assert event["venue"] is None
    assert event["online_url"] == "https://webcast.example.eu/kep"


def test_removing_the_only_place_of_an_event_is_refused(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    response = client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"venue": None})
    assert response.status_code == 422
    assert "a venue, an online_url, or both" in detail_of(response)
    assert client.get(f"/events/{event['id']}").json()["venue"]["city"] == "Brussels"


@pytest.mark.parametrize("same", [{}, {"title": "as it stands"}, {"capacity": None}])
def test_an_edit_that_changes_nothing_answers_the_event_and_records_nothing(
    client, db, dg_rtd, same
):
    event = published_event(client, dg_rtd.headers)
    if same.get("title"):
        same = {"title": event["title"]}
    with unchanged(client, db, event["id"], dg_rtd.headers):
        response = client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json=same)
        assert response.status_code == 200, response.text
        assert response.json() == event  # sequence and updated_at untouched


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"description": None},
        {"starts_at": None},
        {"actions": []},
        {"priority_areas": None},  # as for a proposal: name them, or leave them out
        {"capacity": 0},
        {"starts_at": "9999-12-31T23:00:00-05:00"},
    ],
)
def test_bad_edits_are_422_and_change_nothing(client, dg_rtd, body):
    event = published_event(client, dg_rtd.headers, actions=[7, 9], priority_areas=[4])
    response = client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json=body)
    assert response.status_code == 422
    assert client.get(f"/events/{event['id']}").json() == event


def test_unknown_event_is_404(client, dg_rtd):
    assert client.get("/events/424242").status_code == 404
    assert (
        client.patch("/events/424242", headers=dg_rtd.headers, json={"title": "x"}).status_code
        == 404
    )


# -- audit ----------------------------------------------------------------------------


def test_event_changes_are_in_the_audit_trail(client, member, sedec):
    event = create_event(client, member.headers)
    path = f"/events/{event['id']}"
    client.post(f"{path}/publish", headers=sedec.headers)
    client.patch(path, headers=member.headers, json={"title": "Renamed"})
    client.post(f"{path}/cancel", headers=sedec.headers, json={"reason": "Strike"})
    entries = client.get(
        "/audit", headers=sedec.headers, params={"entity_type": "event", "entity_id": event["id"]}
    ).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in reversed(entries)] == [
        ("event.created", member.id),
        ("event.published", sedec.id),
        ("event.updated", member.id),
        ("event.cancelled", sedec.id),
    ]
    updated = entries[1]
    assert updated["before"]["title"] == event["title"]
    assert updated["after"]["title"] == "Renamed"


def test_an_event_outside_the_plans_term_is_kept_with_a_warning(client, dg_rtd, app):
    inside = published_event(client, dg_rtd.headers)
    assert inside["warnings"] == []
    response = client.post(
        "/events",
        headers=dg_rtd.headers,
        json=event_body(
            kind="other",
            status="published",
            starts_at="2031-01-15T10:00",
            ends_at="2031-01-15T12:00",
        ),
    )
    assert response.status_code == 201, response.text
    outside = response.json()
    assert outside["warnings"] == [
        "The event starts in 2031, outside the plan's term 2026–2029; it is kept, and the "
        "plan's reports count the term's years only"
    ]
    assert client.get(f"/events/{outside['id']}").json()["warnings"] == outside["warnings"]
    app.state.settings = app.state.settings.model_copy(update={"plan_end_year": 2031})
    assert client.get(f"/events/{outside['id']}").json()["warnings"] == []
