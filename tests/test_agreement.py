"""The joint agreement of DG RTD and CoR SEDEC on a topic, and scheduling the agreed seminar."""

import pytest

from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.seminars import (
    AFTER_VOTING,
    IN_PROPOSALS,
    IN_VOTING,
    START,
    audit_entries,
    open_seminar,
    propose,
)


@pytest.fixture
def seminar(client, clock, sedec) -> dict:
    return open_seminar(client, sedec)


@pytest.fixture
def proposals(client, clock, seminar, member, dg_rtd, make_account) -> list[dict]:
    """Three submitted proposals and a withdrawn one; the clock after voting closed."""
    clock.set(IN_PROPOSALS)
    made = [
        propose(client, member, seminar["id"], title="Innovation valleys", actions=[2]),
        propose(client, dg_rtd, seminar["id"], title="Risk data for regions", actions=[9]),
        propose(client, make_account("member"), seminar["id"], title="Bauhaus", actions=[11]),
    ]
    gone = propose(client, member, seminar["id"], title="Withdrawn topic", actions=[6])
    client.post(f"/proposals/{gone['id']}/withdraw", headers=member.headers)
    made.append({**gone, "status": "withdrawn"})
    clock.set(AFTER_VOTING)
    return made


def choose(client, account, seminar_id: int, proposal_id: int):
    return client.put(
        f"/seminars/{seminar_id}/agreement",
        headers=account.headers,
        json={"proposal_id": proposal_id},
    )


def statuses(client, seminar_id: int) -> dict[str, str]:
    listed = client.get(f"/seminars/{seminar_id}/proposals").json()["items"]
    return {proposal["title"]: proposal["status"] for proposal in listed}


def test_an_institution_records_its_choice_after_voting(client, seminar, proposals, dg_rtd, jrc):
    response = choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phase"] == "agreement"
    assert body["agreement"] == {
        "dg_rtd": proposals[1]["id"],
        "cor_sedec": None,
        "agreed_proposal_id": None,
    }
    assert client.get(f"/seminars/{seminar['id']}").json()["agreement"] == body["agreement"]
    entry = audit_entries(client, jrc, "seminar", seminar["id"])[-1]
    assert entry["action"] == "agreement.recorded"
    assert entry["actor_id"] == dg_rtd.id
    assert entry["before"] == {"institution": "dg_rtd", "proposal_id": None}
    assert entry["after"] == {"institution": "dg_rtd", "proposal_id": proposals[1]["id"]}


def test_the_same_choice_from_both_institutions_agrees_the_topic(
    client, seminar, proposals, dg_rtd, sedec, jrc
):
    choose(client, sedec, seminar["id"], proposals[0]["id"])
    response = choose(client, dg_rtd, seminar["id"], proposals[0]["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phase"] == "agreed"
    assert body["agreed_at"] == "2027-02-05T10:00:00Z"
    assert body["agreement"] == {
        "dg_rtd": proposals[0]["id"],
        "cor_sedec": proposals[0]["id"],
        "agreed_proposal_id": proposals[0]["id"],
    }
    assert statuses(client, seminar["id"]) == {
        "Innovation valleys": "agreed",
        "Risk data for regions": "not_selected",
        "Bauhaus": "not_selected",
        "Withdrawn topic": "withdrawn",
    }
    actions = [entry["action"] for entry in audit_entries(client, jrc, "seminar", seminar["id"])]
    assert actions[-2:] == ["agreement.recorded", "seminar.agreed"]
    agreed = audit_entries(client, jrc, "proposal", proposals[0]["id"])[-1]
    assert (agreed["action"], agreed["actor_id"]) == ("proposal.agreed", dg_rtd.id)
    assert audit_entries(client, jrc, "proposal", proposals[2]["id"])[-1]["action"] == (
        "proposal.not_selected"
    )


def test_different_choices_agree_nothing_until_one_changes(
    client, seminar, proposals, dg_rtd, sedec
):
    choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    disagreed = choose(client, sedec, seminar["id"], proposals[2]["id"]).json()
    assert disagreed["phase"] == "agreement"
    assert disagreed["agreement"]["agreed_proposal_id"] is None
    assert set(statuses(client, seminar["id"]).values()) == {"submitted", "withdrawn"}
    agreed = choose(client, sedec, seminar["id"], proposals[1]["id"]).json()
    assert agreed["phase"] == "agreed"
    assert agreed["agreement"]["agreed_proposal_id"] == proposals[1]["id"]


def test_choosing_the_same_again_changes_nothing(client, seminar, proposals, dg_rtd, db):
    first = choose(client, dg_rtd, seminar["id"], proposals[1]["id"]).json()
    count = audit_count(db)
    again = choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    assert again.status_code == 200
    assert again.json() == first
    assert audit_count(db) == count


def test_an_institution_withdraws_its_choice(client, seminar, proposals, dg_rtd, sedec, jrc, db):
    choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    choose(client, sedec, seminar["id"], proposals[2]["id"])
    response = client.delete(f"/seminars/{seminar['id']}/agreement", headers=sedec.headers)
    assert response.status_code == 200, response.text
    assert response.json()["agreement"] == {
        "dg_rtd": proposals[1]["id"],
        "cor_sedec": None,
        "agreed_proposal_id": None,
    }
    entry = audit_entries(client, jrc, "seminar", seminar["id"])[-1]
    assert entry["action"] == "agreement.withdrawn"
    assert entry["actor_id"] == sedec.id
    assert entry["before"] == {"institution": "cor_sedec", "proposal_id": proposals[2]["id"]}
    count = audit_count(db)
    again = client.delete(f"/seminars/{seminar['id']}/agreement", headers=sedec.headers)
    assert again.status_code == 200
    assert audit_count(db) == count
    # Another SEDEC official can then record the institution's choice again.
    chosen = choose(client, sedec, seminar["id"], proposals[1]["id"]).json()
    assert chosen["phase"] == "agreed"


def test_choices_are_locked_once_agreed(client, seminar, proposals, dg_rtd, sedec, db):
    choose(client, dg_rtd, seminar["id"], proposals[0]["id"])
    choose(client, sedec, seminar["id"], proposals[0]["id"])
    count = audit_count(db)
    change = choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    assert change.status_code == 409
    assert "agreed the topic of Seminar 1 of 2027 on 2027-02-05T10:00:00Z (proposal " in (
        detail_of(change)
    )
    assert "the choices are locked" in detail_of(change)
    withdraw = client.delete(f"/seminars/{seminar['id']}/agreement", headers=sedec.headers)
    assert withdraw.status_code == 409
    dates = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"voting_close_at": "2027-03-01T00:00:00Z"},
    )
    assert dates.status_code == 409
    assert "no longer change" in detail_of(dates)
    assert audit_count(db) == count
    assert client.get(f"/seminars/{seminar['id']}").json()["phase"] == "agreed"


@pytest.mark.parametrize("who", ["jrc", "member", "participant", "admin"])
def test_only_dg_rtd_and_sedec_agree(client, seminar, proposals, request, db, who):
    account = request.getfixturevalue(who)
    count = audit_count(db)
    response = choose(client, account, seminar["id"], proposals[0]["id"])
    assert response.status_code == 403
    withdraw = client.delete(f"/seminars/{seminar['id']}/agreement", headers=account.headers)
    assert withdraw.status_code == 403
    if who == "jrc":
        assert (
            "Agreeing a seminar topic needs the secretariat of DG RTD or CoR SEDEC; "
            "you speak for the JRC"
        ) in detail_of(response)
    anonymous = client.put(
        f"/seminars/{seminar['id']}/agreement", json={"proposal_id": proposals[0]["id"]}
    )
    assert anonymous.status_code == 401
    assert audit_count(db) == count


def test_no_choice_before_voting_closes(client, seminar, proposals, clock, dg_rtd, db):
    clock.set(IN_VOTING)
    count = audit_count(db)
    response = choose(client, dg_rtd, seminar["id"], proposals[0]["id"])
    assert response.status_code == 409
    assert "closes on 2027-02-01T17:00:00Z" in detail_of(response)
    assert audit_count(db) == count


def test_the_choice_must_be_a_submitted_proposal_of_this_seminar(
    client, seminar, proposals, clock, sedec, dg_rtd, db
):
    clock.set(START)  # seminars open with dates still ahead
    other = open_seminar(client, sedec, number=2)
    clock.set(IN_PROPOSALS)
    foreign = propose(client, sedec, other["id"], title="Elsewhere")
    clock.set(AFTER_VOTING)
    count = audit_count(db)
    for proposal_id in (foreign["id"], 999999):
        response = choose(client, dg_rtd, seminar["id"], proposal_id)
        assert response.status_code == 422
        assert f"Proposal {proposal_id} is not a proposal of Seminar 1 of 2027" in (
            detail_of(response)
        )
    withdrawn = choose(client, dg_rtd, seminar["id"], proposals[3]["id"])
    assert withdrawn.status_code == 409
    assert "is withdrawn; choose a submitted one" in detail_of(withdrawn)
    bad = client.put(
        f"/seminars/{seminar['id']}/agreement", headers=dg_rtd.headers, json={"proposal_id": "x"}
    )
    assert bad.status_code == 422
    assert audit_count(db) == count


def test_agreeing_on_an_unknown_seminar_is_404(client, dg_rtd):
    assert choose(client, dg_rtd, 999999, 1).status_code == 404


# Scheduling the agreed seminar

WHEN_AND_WHERE = {
    "starts_at": "2027-04-15T09:30:00",
    "ends_at": "2027-04-15T17:00:00",
    "timezone": "Europe/Brussels",
    "venue": {
        "name": "Jacques Delors building",
        "address": "Rue Belliard 99-101",
        "city": "Brussels",
        "country": "BE",
    },
    "capacity": 120,
}


@pytest.fixture
def agreed(client, seminar, proposals, dg_rtd, sedec) -> dict:
    choose(client, dg_rtd, seminar["id"], proposals[0]["id"])
    assert choose(client, sedec, seminar["id"], proposals[0]["id"]).json()["phase"] == "agreed"
    return seminar


def test_the_agreed_seminar_is_scheduled_as_a_joint_seminar_event(client, agreed, proposals, jrc):
    response = client.post(
        f"/seminars/{agreed['id']}/event", headers=jrc.headers, json=WHEN_AND_WHERE
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert response.headers["location"].endswith(f"/events/{event['id']}")
    assert event["kind"] == "joint_seminar"
    assert event["status"] == "published"
    assert event["title"] == "Innovation valleys"
    assert event["description"] == proposals[0]["summary"]
    assert event["actions"] == proposals[0]["actions"] == [2]
    assert event["priority_areas"] == proposals[0]["priority_areas"] == [1]
    assert event["starts_at"] == "2027-04-15T07:30:00Z"  # 09:30 in Brussels, summer time
    assert event["timezone"] == "Europe/Brussels"
    assert event["venue"]["city"] == "Brussels"
    assert event["capacity"] == 120
    assert event["seminar_id"] == agreed["id"]  # the event links back to its seminar
    seminar = client.get(f"/seminars/{agreed['id']}").json()
    assert seminar["phase"] == "scheduled"
    assert seminar["event_id"] == event["id"]
    assert client.get(f"/events/{event['id']}").json() == event
    listed = client.get("/events", params={"kind": "joint_seminar"}).json()["items"]
    assert [(e["id"], e["seminar_id"]) for e in listed] == [(event["id"], agreed["id"])]
    entry = audit_entries(client, jrc, "seminar", agreed["id"])[-1]
    assert entry["action"] == "seminar.scheduled"
    assert entry["actor_id"] == jrc.id
    assert entry["after"]["event_id"] == event["id"]


def test_an_action_retired_after_the_agreement_stays_linked_to_the_seminar(
    client, agreed, proposals, sedec
):
    retired = client.patch(
        "/actions/2",
        headers=sedec.headers,
        json={"status": "retired", "communication": {"reference": "R-9", "date": "2027-02-01"}},
    )
    assert retired.status_code == 200
    response = client.post(
        f"/seminars/{agreed['id']}/event", headers=sedec.headers, json=WHEN_AND_WHERE
    )
    assert response.status_code == 201, response.text
    assert response.json()["actions"] == [2]


def test_an_action_whose_priority_areas_were_amended_after_the_agreement_keeps_the_topics(
    client, agreed, proposals, sedec
):
    """The topic served priority area 1 through action 2 when it was agreed; the plan's
    amendment moving action 2 to area 2 does not undo what the two partners agreed."""
    amended = client.patch(
        "/actions/2",
        headers=sedec.headers,
        json={"priority_areas": [2], "communication": {"reference": "R-1", "date": "2027-02-01"}},
    )
    assert amended.status_code == 200, amended.text
    response = client.post(
        f"/seminars/{agreed['id']}/event", headers=sedec.headers, json=WHEN_AND_WHERE
    )
    assert response.status_code == 201, response.text
    assert (response.json()["actions"], response.json()["priority_areas"]) == ([2], [1])


def test_a_seminar_may_be_scheduled_as_a_draft(client, agreed, sedec):
    response = client.post(
        f"/seminars/{agreed['id']}/event",
        headers=sedec.headers,
        json={**WHEN_AND_WHERE, "status": "draft"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"


def test_a_seminar_scheduled_as_a_draft_is_agreed_to_the_public_until_it_is_published(
    client, agreed, sedec, member
):
    """The public cannot see a draft event: to them the seminar is agreed, with no event,
    as the joint seminars' page and the seminars' feed show it; the secretariat sees the
    draft. Publishing it schedules the seminar for everyone."""
    made = client.post(
        f"/seminars/{agreed['id']}/event",
        headers=sedec.headers,
        json={**WHEN_AND_WHERE, "status": "draft"},
    ).json()
    path = f"/seminars/{agreed['id']}"

    def seen(headers: dict[str, str]) -> list[tuple[str, int | None]]:
        one = client.get(path, headers=headers).json()
        listed = client.get("/seminars", headers=headers).json()["items"]
        return [(s["phase"], s["event_id"]) for s in (one, *listed) if s["id"] == agreed["id"]]

    assert seen({}) == seen(member.headers) == [("agreed", None)] * 2
    assert seen(sedec.headers) == [("scheduled", made["id"])] * 2
    assert client.get(f"/events/{made['id']}").status_code == 404
    page = client.get("/joint-seminars").text
    assert "The topic is agreed." in page and "the seminar is scheduled" not in page
    published = client.post(f"/events/{made['id']}/publish", headers=sedec.headers)
    assert published.status_code == 200, published.text
    assert seen({}) == seen(sedec.headers) == [("scheduled", made["id"])] * 2
    assert "the seminar is scheduled" in client.get("/joint-seminars").text


def test_scheduling_twice_is_409(client, agreed, sedec, db):
    first = client.post(
        f"/seminars/{agreed['id']}/event", headers=sedec.headers, json=WHEN_AND_WHERE
    )
    count = audit_count(db)
    again = client.post(
        f"/seminars/{agreed['id']}/event", headers=sedec.headers, json=WHEN_AND_WHERE
    )
    assert again.status_code == 409
    assert f"already scheduled as event {first.json()['id']}" in detail_of(again)
    assert audit_count(db) == count


def test_only_an_agreed_seminar_is_scheduled(client, seminar, proposals, dg_rtd, sedec, db):
    choose(client, dg_rtd, seminar["id"], proposals[0]["id"])
    count = audit_count(db)
    response = client.post(
        f"/seminars/{seminar['id']}/event", headers=sedec.headers, json=WHEN_AND_WHERE
    )
    assert response.status_code == 409
    assert "is in its agreement phase" in detail_of(response)
    assert audit_count(db) == count
    assert client.get(f"/seminars/{seminar['id']}").json()["event_id"] is None


@pytest.mark.parametrize("who", ["member", "participant", "admin"])
def test_only_the_secretariat_schedules(client, agreed, request, db, who):
    account = request.getfixturevalue(who)
    count = audit_count(db)
    path = f"/seminars/{agreed['id']}/event"
    assert client.post(path, headers=account.headers, json=WHEN_AND_WHERE).status_code == 403
    assert client.post(path, json=WHEN_AND_WHERE).status_code == 401
    assert audit_count(db) == count


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"venue": None}, "a venue, an online_url, or both"),
        ({"timezone": "Europe/Atlantis"}, "IANA tz database"),
        ({"actions": [1]}, "actions"),
        ({"title": "Another title"}, "title"),
        ({"status": "cancelled"}, "status"),
        ({"ends_at": "2027-04-15T08:00:00"}, "ends_at"),
    ],
)
def test_bad_schedules_are_422_and_change_nothing(client, agreed, sedec, db, change, message):
    count = audit_count(db)
    response = client.post(
        f"/seminars/{agreed['id']}/event", headers=sedec.headers, json={**WHEN_AND_WHERE, **change}
    )
    assert response.status_code == 422, response.text
    assert message in response.text
    assert audit_count(db) == count
    assert client.get(f"/seminars/{agreed['id']}").json()["phase"] == "agreed"


def schedule(client, account, seminar_id: int, **changes):
    return client.post(
        f"/seminars/{seminar_id}/event", headers=account.headers, json={**WHEN_AND_WHERE, **changes}
    )


def cancel(client, account, event_id: int):
    response = client.post(
        f"/events/{event_id}/cancel", headers=account.headers, json={"reason": "venue lost"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_seminar_whose_event_is_cancelled_is_agreed_again(client, agreed, sedec):
    event = schedule(client, sedec, agreed["id"]).json()
    cancel(client, sedec, event["id"])
    seminar = client.get(f"/seminars/{agreed['id']}").json()
    assert seminar["phase"] == "agreed"
    assert seminar["event_id"] is None  # no event holds it while it is cancelled
    listed = client.get("/seminars", params={"year": 2027}).json()["items"]
    assert [(s["phase"], s["event_id"]) for s in listed] == [("agreed", None)]
    # The cancelled event keeps its record, and says which seminar it was to hold.
    kept = client.get(f"/events/{event['id']}").json()
    assert (kept["status"], kept["seminar_id"]) == ("cancelled", agreed["id"])


def test_a_seminar_whose_event_is_cancelled_is_scheduled_again(
    client, clock, agreed, proposals, sedec, jrc
):
    first = schedule(client, sedec, agreed["id"]).json()
    cancel(client, sedec, first["id"])
    clock.advance(hours=1)
    response = schedule(
        client, jrc, agreed["id"], starts_at="2027-06-14T09:00", ends_at="2027-06-14T17:00"
    )
    assert response.status_code == 201, response.text
    second = response.json()
    assert second["id"] != first["id"]
    assert (second["kind"], second["status"], second["seminar_id"]) == (
        "joint_seminar",
        "published",
        agreed["id"],
    )
    assert second["title"] == proposals[0]["title"]
    assert second["starts_at"] == "2027-06-14T07:00:00Z"
    seminar = client.get(f"/seminars/{agreed['id']}").json()
    assert (seminar["phase"], seminar["event_id"]) == ("scheduled", second["id"])
    assert seminar["updated_at"] == "2027-02-05T11:00:00Z"
    # The cancelled event stays, cancelled; the joint seminars listed hold only the new one.
    assert client.get(f"/events/{first['id']}").json()["status"] == "cancelled"
    live = client.get("/events", params={"kind": "joint_seminar", "status": "published"})
    assert [e["id"] for e in live.json()["items"]] == [second["id"]]
    entry = audit_entries(client, jrc, "seminar", agreed["id"])[-1]
    assert entry["action"] == "seminar.scheduled"
    assert entry["actor_id"] == jrc.id
    assert entry["before"] == {"event_id": first["id"], "event_status": "cancelled"}
    assert entry["after"]["event_id"] == second["id"]


def test_a_seminar_with_a_live_event_is_not_scheduled_again(client, clock, agreed, sedec, db):
    for status in ("published", "draft"):
        first = schedule(client, sedec, agreed["id"], status=status).json()
        count = audit_count(db)
        again = schedule(client, sedec, agreed["id"])
        assert again.status_code == 409
        assert f"already scheduled as event {first['id']}" in detail_of(again)
        assert "cancel that event first" in detail_of(again)
        assert audit_count(db) == count
        seen = client.get(f"/seminars/{agreed['id']}", headers=sedec.headers).json()
        assert seen["event_id"] == first["id"]  # a draft too, to the secretariat
        cancel(client, sedec, first["id"])


def test_a_seminar_is_scheduled_in_its_own_year(client, agreed, sedec, db):
    count = audit_count(db)
    for starts_at, ends_at, zone, year in [
        ("2029-06-01T09:00", "2029-06-01T17:00", "Europe/Brussels", 2029),
        ("2026-12-31T09:00", "2026-12-31T17:00", "Europe/Brussels", 2026),
        # 23:30 on 31 December 2027 in the Azores is already 2028 in UTC: still 2027.
        ("2028-01-01T00:30:00Z", "2028-01-01T02:00:00Z", "Atlantic/Azores", None),
        # 00:30 on 1 January 2028 in Helsinki is still 2027 in UTC: 2028 there.
        ("2027-12-31T22:30:00Z", "2027-12-31T23:30:00Z", "Europe/Helsinki", 2028),
    ]:
        response = schedule(
            client, sedec, agreed["id"], starts_at=starts_at, ends_at=ends_at, timezone=zone
        )
        if year is None:
            assert response.status_code == 201, response.text
            cancel(client, sedec, response.json()["id"])
            count = audit_count(db)
            continue
        assert response.status_code == 422, response.text
        assert (
            f"Seminar 1 of 2027 takes place in 2027; starts_at is in {year} in {zone}"
            in detail_of(response)
        )
        assert response.json()["detail"][0]["loc"] == ["body", "starts_at"]
        assert audit_count(db) == count
    assert client.get(f"/seminars/{agreed['id']}").json()["phase"] == "agreed"


def test_a_seminars_event_is_not_moved_out_of_its_year(client, agreed, sedec, db):
    event = schedule(client, sedec, agreed["id"]).json()
    path = f"/events/{event['id']}"
    count = audit_count(db)
    for moved in (
        {"starts_at": "2028-03-10T09:00", "ends_at": "2028-03-10T17:00"},
        # the same instants, read in a zone where they are already 2028
        {"starts_at": "2027-12-31T22:30:00Z", "ends_at": "2027-12-31T23:30:00Z"},
    ):
        if "Z" in moved["starts_at"]:
            moved["timezone"] = "Europe/Helsinki"
        response = client.patch(path, headers=sedec.headers, json=moved)
        assert response.status_code == 422, response.text
        assert "Seminar 1 of 2027 takes place in 2027; starts_at is in 2028" in detail_of(response)
        assert audit_count(db) == count
    assert client.get(path).json()["starts_at"] == event["starts_at"]
    within = client.patch(
        path,
        headers=sedec.headers,
        json={"starts_at": "2027-11-10T09:00", "ends_at": "2027-11-10T17:00"},
    )
    assert within.status_code == 200, within.text


def test_recording_or_withdrawing_a_choice_marks_the_seminar_updated(
    client, clock, seminar, proposals, dg_rtd
):
    before = client.get(f"/seminars/{seminar['id']}")
    clock.advance(hours=2)
    chosen = choose(client, dg_rtd, seminar["id"], proposals[1]["id"])
    assert chosen.json()["updated_at"] == "2027-02-05T12:00:00Z"
    again = client.get(
        f"/seminars/{seminar['id']}", headers={"If-None-Match": before.headers["etag"]}
    )
    assert again.status_code == 200
    assert again.json()["updated_at"] == "2027-02-05T12:00:00Z"
    clock.advance(hours=2)
    withdrawn = client.delete(f"/seminars/{seminar['id']}/agreement", headers=dg_rtd.headers)
    assert withdrawn.json()["updated_at"] == "2027-02-05T14:00:00Z"
    clock.advance(hours=2)  # withdrawing what is not recorded changes nothing
    assert (
        client.delete(f"/seminars/{seminar['id']}/agreement", headers=dg_rtd.headers).json()[
            "updated_at"
        ]
        == "2027-02-05T14:00:00Z"
    )
