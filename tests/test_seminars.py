"""Joint seminars: opening the call, its dates and phases, and moving dates safely."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.seminars import (
    AFTER_VOTING,
    CLOSE,
    IN_PROPOSALS,
    IN_VOTING,
    OPEN,
    VOTING_CLOSE,
    audit_entries,
    iso,
    open_seminar,
    propose,
    put_support,
    seminar_body,
    support,
)

# Opening a seminar


def test_secretariat_opens_a_seminar(client, sedec):
    seminar = open_seminar(client, sedec)
    assert seminar["year"] == 2027
    assert seminar["number"] == 1
    assert seminar["proposals_open_at"] == "2026-12-01T09:00:00Z"
    assert seminar["phase"] == "upcoming"
    assert seminar["agreement"] == {"dg_rtd": None, "cor_sedec": None, "agreed_proposal_id": None}
    assert seminar["event_id"] is None
    assert client.get(f"/seminars/{seminar['id']}").json() == seminar
    [entry] = audit_entries(client, sedec, "seminar", seminar["id"])
    assert entry["action"] == "seminar.created"
    assert entry["actor_id"] == sedec.id
    assert entry["after"]["voting_close_at"] == "2027-02-01T17:00:00Z"


def test_a_seminar_answers_its_label_and_local_times(client, sedec):
    seminar = open_seminar(client, sedec)
    assert seminar["label"] == "Seminar 1 of 2027"
    assert seminar["timezone"] == "Europe/Brussels"
    assert seminar["local_proposals_open_at"] == "2026-12-01T10:00:00+01:00"
    assert seminar["local_proposals_close_at"] == "2027-01-15T18:00:00+01:00"
    assert seminar["local_voting_close_at"] == "2027-02-01T18:00:00+01:00"


def test_wall_clock_dates_are_read_in_the_seminars_time_zone(client, sedec):
    seminar = open_seminar(
        client,
        sedec,
        timezone="Europe/Lisbon",
        proposals_open_at="2026-12-01T09:00",
        proposals_close_at="2027-01-15T17:00",
        voting_close_at="2027-07-01T17:00",
    )
    assert seminar["proposals_open_at"] == "2026-12-01T09:00:00Z"  # Lisbon in winter
    assert seminar["local_proposals_open_at"] == "2026-12-01T09:00:00+00:00"
    assert seminar["voting_close_at"] == "2027-07-01T16:00:00Z"  # Lisbon in summer
    assert seminar["local_voting_close_at"] == "2027-07-01T17:00:00+01:00"
    brussels = open_seminar(client, sedec, number=2, proposals_open_at="2026-12-01T10:00")
    assert brussels["timezone"] == "Europe/Brussels"  # the default zone
    assert brussels["proposals_open_at"] == "2026-12-01T09:00:00Z"


def test_a_new_zone_alone_keeps_the_instants(client, sedec):
    seminar = open_seminar(client, sedec)
    response = client.patch(
        f"/seminars/{seminar['id']}", headers=sedec.headers, json={"timezone": "Europe/Warsaw"}
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["proposals_open_at"] == seminar["proposals_open_at"]
    assert moved["local_proposals_open_at"] == "2026-12-01T10:00:00+01:00"
    assert moved["timezone"] == "Europe/Warsaw"
    wall_clock = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"timezone": "Europe/Lisbon", "proposals_open_at": "2026-12-01T10:00"},
    ).json()
    assert wall_clock["proposals_open_at"] == "2026-12-01T10:00:00Z"


def test_a_wall_clock_date_the_clocks_skip_is_422(client, sedec, db):
    count = audit_count(db)
    response = client.post(
        "/seminars",
        headers=sedec.headers,
        json=seminar_body(voting_close_at="2027-03-28T02:30"),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "voting_close_at"],
            "msg": "voting_close_at 2027-03-28T02:30 does not exist in Europe/Brussels: the "
            "clocks skip it when daylight saving time starts",
            "type": "value_error",
        }
    ]
    assert audit_count(db) == count


def test_dates_with_an_offset_are_kept_as_utc(client, dg_rtd):
    seminar = open_seminar(client, dg_rtd, proposals_open_at="2026-12-01T10:00:00+01:00")
    assert seminar["proposals_open_at"] == "2026-12-01T09:00:00Z"


def test_third_seminar_in_a_year_is_refused(client, dg_rtd, db):
    open_seminar(client, dg_rtd, number=1)
    open_seminar(client, dg_rtd, number=2)
    count = audit_count(db)
    again = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(number=1))
    assert again.status_code == 409
    assert "Seminar 1 of 2027 already exists" in detail_of(again)
    third = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(number=3))
    assert third.status_code == 422
    assert "number" in third.text
    assert audit_count(db) == count
    assert client.get("/seminars", params={"year": 2027}).json()["total"] == 2


@pytest.mark.parametrize("year", [2025, 2030])
def test_a_year_outside_the_plans_term_is_422(client, dg_rtd, db, year):
    count = audit_count(db)
    response = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(year=year))
    assert response.status_code == 422
    assert f"{year} is outside the plan's term, 2026–2029" in detail_of(response)
    assert audit_count(db) == count


def test_the_plans_term_is_a_setting(client, app, dg_rtd):
    app.state.settings = app.state.settings.model_copy(update={"plan_end_year": 2030})
    assert (
        client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(year=2030)).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("dates", "pair"),
    [
        (
            {"proposals_close_at": "2026-11-30T09:00:00Z"},
            "proposals_close_at (2026-11-30T09:00:00Z) must be after proposals_open_at",
        ),
        (
            {"proposals_close_at": iso(OPEN)},
            "proposals_close_at (2026-12-01T09:00:00Z) must be after proposals_open_at",
        ),
        (
            {"voting_close_at": "2027-01-10T00:00:00Z"},
            "voting_close_at (2027-01-10T00:00:00Z) must be after proposals_close_at",
        ),
    ],
)
def test_dates_out_of_order_are_422_naming_the_pair(client, dg_rtd, db, dates, pair):
    count = audit_count(db)
    response = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(**dates))
    assert response.status_code == 422
    assert pair in detail_of(response)
    assert audit_count(db) == count
    assert client.get("/seminars").json()["items"] == []


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (
            {"proposals_open_at": "2026-11-25T08:59:59Z"},
            "proposals_open_at cannot be 2026-11-25T08:59:59Z, which has passed; dates are "
            "set to now (2026-11-25T09:00:00Z) or later",
        ),
        (
            {
                "proposals_open_at": "2026-01-01T09:00:00Z",
                "proposals_close_at": "2026-02-01T09:00:00Z",
                "voting_close_at": "2026-03-01T09:00:00Z",
            },
            "proposals_open_at cannot be 2026-01-01T09:00:00Z, which has passed",
        ),
    ],
)
def test_a_seminar_is_not_opened_with_dates_that_have_passed(client, dg_rtd, db, dates, message):
    count = audit_count(db)
    response = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(**dates))
    assert response.status_code == 409
    assert message in detail_of(response)
    assert audit_count(db) == count
    assert client.get("/seminars").json()["items"] == []


def test_a_seminar_may_open_its_call_now(client, clock, dg_rtd):
    seminar = open_seminar(client, dg_rtd, proposals_open_at=iso(clock()))
    assert seminar["phase"] == "proposals"


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (
            {
                "year": 2027,
                "proposals_open_at": "2099-01-01T09:00:00Z",
                "proposals_close_at": "2099-02-01T09:00:00Z",
                "voting_close_at": "2099-03-01T09:00:00Z",
            },
            "Voting on Seminar 1 of 2027 must close by the end of 2027 "
            "(2027-12-31T23:00:00Z in Europe/Brussels); voting_close_at is 2099-03-01T09:00:00Z",
        ),
        (
            # Midnight in Brussels on New Year's Eve is the end of the year: a minute later
            # is the next one.
            {"year": 2027, "voting_close_at": "2028-01-01T00:01:00+01:00"},
            "must close by the end of 2027 (2027-12-31T23:00:00Z in Europe/Brussels)",
        ),
        (
            {"year": 2027, "timezone": "Europe/Lisbon", "voting_close_at": "2028-01-01T00:30"},
            "must close by the end of 2027 (2028-01-01T00:00:00Z in Europe/Lisbon)",
        ),
    ],
)
def test_voting_closes_within_the_seminars_year(client, dg_rtd, db, dates, message):
    count = audit_count(db)
    response = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(**dates))
    assert response.status_code == 422, response.text
    assert message in detail_of(response)
    assert response.json()["detail"][0]["loc"] == ["body", "voting_close_at"]
    assert audit_count(db) == count
    assert client.get("/seminars").json()["items"] == []
    at_the_end = seminar_body(voting_close_at="2028-01-01T00:00:00+01:00")
    assert client.post("/seminars", headers=dg_rtd.headers, json=at_the_end).status_code == 201


def test_moved_dates_and_years_keep_voting_within_the_seminars_year(client, sedec, db):
    seminar = open_seminar(client, sedec)
    count = audit_count(db)
    for change, message in [
        (
            {"voting_close_at": "2028-02-01T17:00:00Z"},
            "Voting on Seminar 1 of 2027 must close by the end of 2027",
        ),
        ({"year": 2026}, "Voting on Seminar 1 of 2026 must close by the end of 2026"),
    ]:
        response = client.patch(f"/seminars/{seminar['id']}", headers=sedec.headers, json=change)
        assert response.status_code == 422, response.text
        assert message in detail_of(response)
        assert "voting_close_at is 20" in detail_of(response)
    assert client.get(f"/seminars/{seminar['id']}").json() == seminar
    assert audit_count(db) == count
    later = client.patch(f"/seminars/{seminar['id']}", headers=sedec.headers, json={"year": 2028})
    assert later.status_code == 200, later.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"year": "next"}, "year"),
        ({"colour": "red"}, "colour"),
        ({"voting_close_at": None}, "voting_close_at"),
        ({"proposals_open_at": "soon"}, "proposals_open_at"),
        ({"timezone": "Mars/Olympus"}, "is not accepted: a time zone is a region zone"),
    ],
)
def test_bad_seminar_bodies_are_422(client, dg_rtd, body, message):
    response = client.post("/seminars", headers=dg_rtd.headers, json=seminar_body(**body))
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize("who", ["member", "participant", "admin"])
def test_only_the_secretariat_opens_seminars(client, request, db, who):
    account = request.getfixturevalue(who)
    count = audit_count(db)
    response = client.post("/seminars", headers=account.headers, json=seminar_body())
    assert response.status_code == 403
    assert "secretariat" in detail_of(response)
    assert client.post("/seminars", json=seminar_body()).status_code == 401
    assert audit_count(db) == count


def test_unknown_seminar_is_404(client):
    response = client.get("/seminars/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No seminar with id 999999"}


def test_seminars_are_listed_by_year(client, sedec):
    second = open_seminar(client, sedec, number=2)
    first = open_seminar(client, sedec, number=1)
    other = open_seminar(
        client,
        sedec,
        year=2028,
        proposals_open_at="2027-12-01T09:00:00Z",
        proposals_close_at="2028-01-15T09:00:00Z",
        voting_close_at="2028-02-01T09:00:00Z",
    )
    listed = client.get("/seminars").json()["items"]
    assert [s["id"] for s in listed] == [first["id"], second["id"], other["id"]]
    in_2028 = client.get("/seminars", params={"year": 2028}).json()["items"]
    assert [s["id"] for s in in_2028] == [other["id"]]
    assert client.get("/seminars", params={"year": 2026}).json()["items"] == []


# The clock drives the phases


def test_the_phase_follows_the_clock(client, clock, dg_rtd):
    seminar = open_seminar(client, dg_rtd)
    path = f"/seminars/{seminar['id']}"
    expected = [
        (datetime(2026, 12, 1, 8, 59, 59, tzinfo=UTC), "upcoming"),
        (OPEN, "proposals"),
        (IN_PROPOSALS, "proposals"),
        (CLOSE, "voting"),
        (IN_VOTING, "voting"),
        (VOTING_CLOSE, "agreement"),
        (AFTER_VOTING, "agreement"),
    ]
    for moment, phase in expected:
        clock.set(moment)
        assert client.get(path).json()["phase"] == phase, moment
        assert client.get("/seminars").json()["items"][0]["phase"] == phase


# Moving dates


def test_dates_still_ahead_move_freely_in_order(client, clock, sedec):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={
            "proposals_close_at": "2027-01-20T17:00:00Z",
            "voting_close_at": "2027-02-10T17:00:00Z",
        },
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["proposals_close_at"] == "2027-01-20T17:00:00Z"
    assert moved["voting_close_at"] == "2027-02-10T17:00:00Z"
    assert moved["phase"] == "proposals"
    entry = audit_entries(client, sedec, "seminar", seminar["id"])[-1]
    assert entry["action"] == "seminar.updated"
    assert entry["actor_id"] == sedec.id
    assert entry["before"]["proposals_close_at"] == "2027-01-15T17:00:00Z"
    assert entry["after"]["proposals_close_at"] == "2027-01-20T17:00:00Z"


def test_closing_proposals_early_is_allowed(client, clock, sedec):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_close_at": iso(IN_PROPOSALS)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == "voting"


def test_moved_dates_must_stay_in_order(client, sedec, db):
    seminar = open_seminar(client, sedec)
    count = audit_count(db)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": "2027-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert "voting_close_at (2027-01-01T00:00:00Z) must be after proposals_close_at" in (
        detail_of(response)
    )
    assert client.get(f"/seminars/{seminar['id']}").json() == seminar
    assert audit_count(db) == count


def test_moving_a_seminar_onto_a_taken_number_is_409(client, sedec):
    open_seminar(client, sedec, number=1)
    second = open_seminar(client, sedec, number=2)
    response = client.patch(f"/seminars/{second['id']}", headers=sedec.headers, json={"number": 1})
    assert response.status_code == 409
    assert "already exists" in detail_of(response)
    outside = client.patch(f"/seminars/{second['id']}", headers=sedec.headers, json={"year": 2031})
    assert outside.status_code == 422
    assert "outside the plan's term" in detail_of(outside)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"year": None}, "may be changed but not emptied"),
        ({"timezone": None}, "may be changed but not emptied"),
        ({"timezone": "Brussels"}, "is not accepted: a time zone is a region zone"),
        ({"number": 3}, "number"),
    ],
)
def test_bad_seminar_changes_are_422(client, sedec, body, message):
    seminar = open_seminar(client, sedec)
    response = client.patch(f"/seminars/{seminar['id']}", headers=sedec.headers, json=body)
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize(
    "same",
    [
        {},
        {"proposals_open_at": iso(OPEN)},
        {"proposals_open_at": "2026-12-01T10:00"},  # the same instant, in Brussels
        {"year": 2027, "number": 1, "timezone": "Europe/Brussels"},
    ],
)
def test_a_change_that_changes_nothing_answers_the_seminar_and_records_nothing(
    client, sedec, db, same
):
    seminar = open_seminar(client, sedec)
    count = audit_count(db)
    response = client.patch(f"/seminars/{seminar['id']}", headers=sedec.headers, json=same)
    assert response.status_code == 200, response.text
    assert response.json() == seminar
    assert audit_count(db) == count


def test_members_may_not_move_dates(client, sedec, member):
    seminar = open_seminar(client, sedec)
    response = client.patch(
        f"/seminars/{seminar['id']}", headers=member.headers, json={"number": 2}
    )
    assert response.status_code == 403
    assert client.patch(f"/seminars/{seminar['id']}", json={"number": 2}).status_code == 401


def test_a_passed_date_does_not_move_into_the_past(client, clock, sedec, db):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    count = audit_count(db)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_open_at": "2026-12-02T09:00:00Z"},
    )
    assert response.status_code == 409
    assert "proposals_open_at cannot move to 2026-12-02T09:00:00Z, which has passed" in detail_of(
        response
    )
    assert audit_count(db) == count


def test_a_date_still_ahead_does_not_move_into_the_past(client, clock, sedec, member, db):
    """Closing voting "yesterday" would put supports given today after the close."""
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    count = audit_count(db)
    earlier = (IN_VOTING - timedelta(hours=1)).isoformat()
    response = client.patch(
        f"/seminars/{seminar['id']}", headers=sedec.headers, json={"voting_close_at": earlier}
    )
    assert response.status_code == 409
    assert "which has passed" in detail_of(response)
    assert client.get(f"/seminars/{seminar['id']}").json()["phase"] == "voting"
    assert audit_count(db) == count
    now = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": IN_VOTING.isoformat()},
    )
    assert now.status_code == 200, now.text
    assert now.json()["phase"] == "agreement"


def test_reopening_proposals_is_allowed_while_nobody_has_voted(client, clock, sedec, member):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_close_at": "2027-01-25T17:00:00Z"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == "proposals"


def test_reopening_proposals_once_supports_exist_is_409(client, clock, sedec, member, db):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    assert put_support(client, member, proposal["id"]).status_code == 200
    count = audit_count(db)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_close_at": "2027-01-25T17:00:00Z"},
    )
    assert response.status_code == 409
    detail = detail_of(response)
    assert "1 support(s) were given" in detail
    assert "would reopen a closed phase" in detail
    assert client.get(f"/seminars/{seminar['id']}").json()["phase"] == "voting"
    assert audit_count(db) == count
    # Extending the open voting phase reopens nothing.
    extended = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": "2027-02-10T17:00:00Z"},
    )
    assert extended.status_code == 200, extended.text


def test_reopening_voting_once_supports_exist_is_409(client, clock, sedec, member):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    clock.set(AFTER_VOTING)
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": "2027-02-20T17:00:00Z"},
    )
    assert response.status_code == 409
    assert "would reopen a closed phase" in detail_of(response)


def test_a_support_taken_back_still_keeps_voting_closed(client, clock, sedec, member, db):
    """A support taken back keeps its row and the moment it was given: reopening voting
    or proposals would put that moment outside the phase that allowed it."""
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    taken_back = client.delete(f"/proposals/{proposal['id']}/support", headers=member.headers)
    assert taken_back.status_code == 200
    assert taken_back.json()["supported"] is False
    clock.set(AFTER_VOTING)
    count = audit_count(db)
    for name in ("voting_close_at", "proposals_close_at"):
        response = client.patch(
            f"/seminars/{seminar['id']}",
            headers=sedec.headers,
            json={name: "2027-02-20T17:00:00Z", "voting_close_at": "2027-02-21T17:00:00Z"},
        )
        assert response.status_code == 409, response.text
        assert "1 support(s) were given" in detail_of(response)
    assert audit_count(db) == count
    assert client.get(f"/seminars/{seminar['id']}").json()["phase"] == "agreement"


def test_reopening_voting_once_an_institution_chose_is_409(client, clock, sedec, member):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(AFTER_VOTING)
    chosen = client.put(
        f"/seminars/{seminar['id']}/agreement",
        headers=sedec.headers,
        json={"proposal_id": proposal["id"]},
    )
    assert chosen.status_code == 200, chosen.text
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": "2027-02-20T17:00:00Z"},
    )
    assert response.status_code == 409
    assert "an institution has recorded its choice" in detail_of(response)


def test_unopening_the_call_once_proposals_exist_is_409(client, clock, sedec, member):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"])
    response = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_open_at": "2026-12-20T09:00:00Z"},
    )
    assert response.status_code == 409
    assert "1 proposal(s) were made" in detail_of(response)


def test_listing_seminars_takes_the_same_queries_for_one_or_many(client, sedec, count_queries):
    open_seminar(client, sedec, number=1)
    with count_queries() as one:
        assert client.get("/seminars").json()["total"] == 1
    open_seminar(client, sedec, number=2)
    for year in (2028, 2029):
        open_seminar(
            client,
            sedec,
            year=year,
            proposals_open_at=f"{year - 1}-12-01T09:00:00Z",
            proposals_close_at=f"{year}-01-15T09:00:00Z",
            voting_close_at=f"{year}-02-01T09:00:00Z",
        )
    with count_queries() as many:
        assert client.get("/seminars").json()["total"] == 4
    assert len(many) == len(one)


# Closing a phase now


def test_the_secretariat_closes_the_call_for_topics_now(client, clock, sedec, member, db):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    response = client.post(f"/seminars/{seminar['id']}/close-proposals", headers=sedec.headers)
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["proposals_close_at"] == "2026-12-10T10:00:00Z"
    assert closed["local_proposals_close_at"] == "2026-12-10T11:00:00+01:00"
    assert closed["phase"] == "voting"
    assert put_support(client, member, proposal["id"]).status_code == 200  # voting is open
    entry = audit_entries(client, sedec, "seminar", seminar["id"])[-1]
    assert entry["action"] == "seminar.proposals_closed"
    assert entry["before"] == {"proposals_close_at": "2027-01-15T17:00:00Z"}
    assert entry["after"] == {"proposals_close_at": "2026-12-10T10:00:00Z"}
    # Closing it again answers the seminar as it stands.
    count = audit_count(db)
    clock.advance(hours=1)
    again = client.post(f"/seminars/{seminar['id']}/close-proposals", headers=sedec.headers)
    assert again.status_code == 200
    assert again.json() == closed
    assert audit_count(db) == count


def test_the_secretariat_closes_voting_now(client, clock, sedec, dg_rtd, member, db):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    response = client.post(f"/seminars/{seminar['id']}/close-voting", headers=sedec.headers)
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["voting_close_at"], closed["phase"]) == ("2027-01-20T10:00:00Z", "agreement")
    tally = client.get(f"/seminars/{seminar['id']}/tally")  # public from now on
    assert tally.status_code == 200
    assert tally.json()["final"] is True
    assert tally.json()["seminar_label"] == "Seminar 1 of 2027"
    chosen = client.put(
        f"/seminars/{seminar['id']}/agreement",
        headers=dg_rtd.headers,
        json={"proposal_id": proposal["id"]},
    )
    assert chosen.status_code == 200, chosen.text
    count = audit_count(db)
    for path in ("close-voting", "close-proposals"):  # closed already: nothing changes
        again = client.post(f"/seminars/{seminar['id']}/{path}", headers=sedec.headers)
        assert again.status_code == 200
        assert again.json()["voting_close_at"] == "2027-01-20T10:00:00Z"
    assert audit_count(db) == count


def test_a_phase_that_has_not_begun_is_not_closed(client, clock, sedec, db):
    seminar = open_seminar(client, sedec)
    count = audit_count(db)
    early = client.post(f"/seminars/{seminar['id']}/close-proposals", headers=sedec.headers)
    assert early.status_code == 409
    assert "Proposals for Seminar 1 of 2027 open on 2026-12-01T09:00:00Z" in detail_of(early)
    clock.set(IN_PROPOSALS)
    voting = client.post(f"/seminars/{seminar['id']}/close-voting", headers=sedec.headers)
    assert voting.status_code == 409
    assert "close the call for proposals first" in detail_of(voting)
    assert client.get(f"/seminars/{seminar['id']}").json() == {**seminar, "phase": "proposals"}
    assert audit_count(db) == count


@pytest.mark.parametrize("path", ["close-proposals", "close-voting"])
def test_only_the_secretariat_closes_a_phase(client, clock, sedec, member, db, path):
    seminar = open_seminar(client, sedec)
    clock.set(IN_VOTING)
    count = audit_count(db)
    refused = client.post(f"/seminars/{seminar['id']}/{path}", headers=member.headers)
    assert refused.status_code == 403
    assert "needs the role secretariat" in detail_of(refused)
    assert client.post(f"/seminars/{seminar['id']}/{path}").status_code == 401
    assert client.post(f"/seminars/999999/{path}", headers=sedec.headers).status_code == 404
    assert audit_count(db) == count
