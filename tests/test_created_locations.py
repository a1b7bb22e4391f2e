"""An answer 201 says where what it made can be read again (`Location`, RFC 9110
§10.2.2), as an address under the service's public base URL; without it a client takes
the address it posted to for the new resource's."""

from tests.helpers.events import event_body
from tests.helpers.seminars import IN_PROPOSALS, open_seminar, propose

COMMUNICATION = {"reference": "Ares(2026)7654321", "date": "2026-11-24"}


def check_location(client, settings, answer, path: str, headers) -> None:
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == settings.base_url + path
    again = client.get(path, headers=headers)
    assert again.status_code == 200
    key = "id" if "id" in answer.json() else "number"  # an action is known by its number
    assert again.json()[key] == answer.json()[key]


def test_what_a_201_made_is_where_its_location_says(client, settings, clock, dg_rtd, member, admin):
    event = client.post("/events", headers=member.headers, json=event_body(kind="peer_to_peer"))
    check_location(client, settings, event, f"/events/{event.json()['id']}", member.headers)

    seminar = client.post(
        "/seminars",
        headers=dg_rtd.headers,
        json={
            "year": 2027,
            "number": 2,
            "proposals_open_at": "2027-05-01T09:00:00Z",
            "proposals_close_at": "2027-06-01T09:00:00Z",
            "voting_close_at": "2027-07-01T09:00:00Z",
        },
    )
    check_location(client, settings, seminar, f"/seminars/{seminar.json()['id']}", None)

    opened = open_seminar(client, dg_rtd)
    clock.set(IN_PROPOSALS)
    proposal = client.post(
        f"/seminars/{opened['id']}/proposals",
        headers=member.headers,
        json={"title": "Valleys", "summary": "Why it matters.", "actions": [2]},
    )
    check_location(client, settings, proposal, f"/proposals/{proposal.json()['id']}", None)
    assert propose(client, member, opened["id"], title="Another")  # the helper still holds

    action = client.post(
        "/actions",
        headers=dg_rtd.headers,
        json={"title": "Skills", "priority_areas": [1], "communication": COMMUNICATION},
    )
    check_location(client, settings, action, f"/actions/{action.json()['number']}", None)

    user = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Nina New", "email": "nina@example.eu", "role": "participant"},
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["user"]["id"]
    assert user.headers["location"] == f"{settings.base_url}/users/{user_id}"
    assert client.get(f"/users/{user_id}", headers=admin.headers).status_code == 200


def test_the_api_document_names_the_location_of_every_201_that_has_one(client):
    """Each create whose resource can be read again documents its `Location`; the others
    (a registration, a token, a personal feed, an invitation) make nothing one reads at
    an address of its own."""
    spec = client.get("/openapi.json").json()
    located = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "Location" in operation.get("responses", {}).get("201", {}).get("headers", {})
    }
    assert located == {
        ("post", "/events"),
        ("post", "/seminars"),
        ("post", "/seminars/{seminar_id}/proposals"),
        ("post", "/seminars/{seminar_id}/event"),
        ("post", "/actions"),
        ("post", "/users"),
    }
