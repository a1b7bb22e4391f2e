"""Listing events: filters, order, pagination, visibility, and a constant number of queries."""

import pytest

from tests.helpers.answers import detail_of
from tests.helpers.events import create_event, published_event


@pytest.fixture
def programme(client, dg_rtd, member, make_account):
    """A small programme: three public events in two countries, a draft, a submission."""
    other_member = make_account("member", member_state="IT", region="Lazio")
    brussels = published_event(
        client,
        dg_rtd.headers,
        title="Brussels",
        actions=[1],
        starts_at="2027-03-10T09:00",
        ends_at="2027-03-10T17:00",
    )
    rome = create_event(
        client,
        other_member.headers,
        title="Rome",
        actions=[9],
        starts_at="2027-04-01T09:00",
        ends_at="2027-04-02T13:00",
        timezone="Europe/Rome",
        venue={"name": "Campidoglio", "city": "Rome", "country": "IT"},
    )
    client.post(f"/events/{rome['id']}/publish", headers=dg_rtd.headers)
    online = published_event(
        client,
        dg_rtd.headers,
        title="Webinar",
        kind="joint_seminar",
        actions=[11],
        starts_at="2027-02-01T14:00",
        ends_at="2027-02-01T15:30",
        venue=None,
        online_url="https://webcast.example.eu/neb",
    )
    draft = create_event(client, dg_rtd.headers, title="Draft", kind="other")
    submitted = create_event(client, member.headers, title="Submitted")
    return {
        "brussels": brussels["id"],
        "rome": rome["id"],
        "online": online["id"],
        "draft": draft["id"],
        "submitted": submitted["id"],
        "other_member": other_member,
    }


def titles(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [event["title"] for event in response.json()["items"]]


def test_anonymous_sees_public_events_ordered_by_start(client, programme):
    response = client.get("/events")
    assert titles(response) == ["Webinar", "Brussels", "Rome"]
    assert response.json()["total"] == 3


def test_a_host_also_sees_their_unpublished_events(client, programme, member):
    assert titles(client.get("/events", headers=member.headers)) == [
        "Webinar",
        "Brussels",
        "Submitted",
        "Rome",
    ]


def test_the_secretariat_sees_all(client, programme, jrc):
    assert client.get("/events", headers=jrc.headers).json()["total"] == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "joint_seminar"}, ["Webinar"]),
        ({"action": 9}, ["Rome"]),
        ({"priority_area": 2}, ["Webinar", "Brussels"]),
        ({"priority_area": 4}, ["Brussels", "Rome"]),
        ({"country": "it"}, ["Rome"]),
        ({"status": "published"}, ["Webinar", "Brussels", "Rome"]),
        ({"from": "2027-03-01T00:00:00Z", "to": "2027-04-01T12:00:00+02:00"}, ["Brussels", "Rome"]),
        ({"from": "2027-04-02T10:00:00Z"}, ["Rome"]),
        ({"to": "2027-02-01T13:00:00Z"}, []),
        ({"to": "2027-02-01T13:00:01Z"}, ["Webinar"]),
    ],
)
def test_filters(client, programme, params, expected):
    assert titles(client.get("/events", params=params)) == expected


def test_filter_by_host(client, programme):
    host = programme["other_member"].id
    assert titles(client.get("/events", params={"host": host})) == ["Rome"]


def test_an_empty_interval_is_422(client):
    response = client.get(
        "/events", params={"from": "2027-05-01T00:00Z", "to": "2027-04-01T00:00Z"}
    )
    assert response.status_code == 422
    assert "must be after `from`" in detail_of(response)


def test_the_listing_starts_now_and_lists_past_events_when_asked(client, programme, clock):
    clock.set(clock.now.replace(year=2027, month=3, day=10, hour=12))  # Brussels is on
    assert titles(client.get("/events")) == ["Brussels", "Rome"]  # under way, then upcoming
    clock.set(clock.now.replace(month=3, day=11))
    assert titles(client.get("/events")) == ["Rome"]
    assert titles(client.get("/events", params={"from": "2027-01-01T00:00Z"})) == [
        "Webinar",
        "Brussels",
        "Rome",
    ]
    past = client.get("/events", params={"from": "2027-01-01T00:00Z", "to": "2027-03-01T00:00Z"})
    assert titles(past) == ["Webinar"]
    only_to = client.get("/events", params={"to": "2027-03-01T00:00Z"})
    assert only_to.status_code == 422
    assert "`from` is now unless you give it" in detail_of(only_to)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("brussels", ["Brussels"]),
        ("BRUSSELS", ["Brussels"]),
        ("webcast", []),  # the URL is not searched
        ("resilience rome", ["Rome"]),  # every word, in the title or the description
        ("rome brussels", []),
        ("100%", []),  # wildcards are plain characters
        ("", ["Webinar", "Brussels", "Rome"]),
    ],
)
def test_words_find_events_by_title_and_description(client, programme, dg_rtd, q, expected):
    client.patch(
        f"/events/{programme['rome']}",
        headers=dg_rtd.headers,
        json={"description": "Territorial RESILIENCE and the Risk Data Hub"},
    )
    assert titles(client.get("/events", params={"q": q})) == expected


def test_words_match_whatever_the_case_of_accented_letters(client, dg_rtd):
    published_event(client, dg_rtd.headers, title="Économie circulaire à Łódź")
    assert titles(client.get("/events", params={"q": "éCONOMIE łÓDŹ"})) == [
        "Économie circulaire à Łódź"
    ]


def test_pagination_keeps_the_total(client, programme):
    page = client.get("/events", params={"limit": 2, "offset": 1}).json()
    assert [event["title"] for event in page["items"]] == ["Brussels", "Rome"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"offset": 10**20},
        {"from": "0001-01-01T00:00:00+01:00"},
        {"to": "9999-12-31T23:59:59-05:00"},
        {"country": "Belgium"},
        {"kind": "party"},
        {"from": "not a date"},
        {"status": "lost"},
        {"q": "x" * 201},
    ],
)
def test_bad_listing_parameters_are_422(client, params):
    assert client.get("/events", params=params).status_code == 422


def test_listing_and_reading_cost_the_same_queries_however_many_events(
    client, dg_rtd, make_account, count_queries
):
    def listing_cost() -> tuple[int, int]:
        events = client.get("/events", params={"limit": 200}).json()["items"]
        with count_queries() as listing:
            client.get("/events", params={"limit": 200})
        with count_queries() as single:
            client.get(f"/events/{events[-1]['id']}")
        return listing.count, single.count

    agenda = {
        "items": [
            {
                "starts_at": f"2027-03-10T{hour:02d}:00",
                "ends_at": f"2027-03-10T{hour:02d}:45",
                "title": f"Session {hour}",
                "speakers": [{"name": "A", "affiliation": "B"}],
            }
            for hour in range(10, 16)
        ]
    }

    def add(count: int) -> None:
        for _ in range(count):
            # Hosted by a different member each time: hosts are loaded in one query too.
            host = make_account("member")
            event = create_event(client, host.headers, actions=[1, 3, 7], capacity=5)
            client.post(f"/events/{event['id']}/publish", headers=dg_rtd.headers)
            client.put(f"/events/{event['id']}/agenda", headers=host.headers, json=agenda)
            client.post(f"/events/{event['id']}/registrations", headers=dg_rtd.headers)
            published_event(client, dg_rtd.headers, actions=[2, 11])

    add(1)
    few = listing_cost()
    add(12)
    many = listing_cost()
    assert few == many
    assert few[0] <= 6


@pytest.mark.parametrize(
    "params",
    [
        [("kind", "peer_to_peer"), ("kind", "other")],
        [("country", "BE"), ("country", "BE")],
        [("limit", "1"), ("limit", "2")],
    ],
)
def test_a_filter_given_twice_is_422_naming_it(client, programme, params):
    response = client.get("/events", params=params)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    name = params[0][0]
    assert error["loc"] == ["query", name]
    assert f"{name} is given 2 times" in detail_of(response)
