"""The plan's catalogue: priority areas and actions, and their amendment by the secretariat."""

from datetime import UTC, datetime

import pytest

from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count

# Dated before the tests' today (2026-11-25): a change records a communication exchanged.
COMMUNICATION = {"reference": "Ares(2026)1234567", "date": "2026-11-20"}

EXPECTED_AREAS = {
    1: [1, 2, 3, 4],
    2: [1],
    3: [1, 2, 3],
    4: [1, 2, 3],
    5: [1],
    6: [1],
    7: [1, 3],
    8: [1, 3],
    9: [4],
    10: [1, 2, 3, 4],
    11: [2],
}


def test_the_four_priority_areas_are_there(client):
    areas = client.get("/priority-areas").json()["items"]
    assert [area["number"] for area in areas] == [1, 2, 3, 4]
    assert areas[0]["title"].startswith("Building strong local and regional innovation")
    assert client.get("/priority-areas/4").json()["title"].startswith("Supporting evidence")


def test_unknown_priority_area_is_404(client):
    response = client.get("/priority-areas/5")
    assert response.status_code == 404
    assert "1 to 4" in detail_of(response)


def test_the_eleven_actions_serve_the_plans_priority_areas(client):
    actions = client.get("/actions").json()["items"]
    assert {a["number"]: a["priority_areas"] for a in actions} == EXPECTED_AREAS
    assert all(action["status"] == "active" for action in actions)
    assert actions[0]["title"] == "Maintaining the Knowledge Exchange Platform (KEP 2.0)"


def test_action_10_focuses_on_priority_area_1(client):
    action = client.get("/actions/10").json()
    assert action["focus_priority_area"] == 1
    assert action["priority_areas"] == [1, 2, 3, 4]
    assert client.get("/actions/3").json()["focus_priority_area"] is None


def test_a_loaded_action_has_the_plan_as_its_first_history_entry(client):
    history = client.get("/actions/1").json()["history"]
    assert len(history) == 1
    assert history[0]["change"] == "added"
    assert history[0]["communication"]["date"] == "2026-04-24"


def test_unknown_action_is_404(client):
    assert client.get("/actions/99").status_code == 404


def test_secretariat_adds_an_action_with_its_communication(client, sedec, db):
    response = client.post(
        "/actions",
        headers=sedec.headers,
        json={
            "title": "Skills for regional innovation",
            "summary": "Talent and skills.",
            "priority_areas": [1, 3],
            "communication": COMMUNICATION,
        },
    )
    assert response.status_code == 201, response.text
    action = response.json()
    assert action["number"] == 12
    assert action["priority_areas"] == [1, 3]
    assert action["history"][0]["communication"] == COMMUNICATION
    assert action["history"][0]["actor_id"] == sedec.id
    assert client.get("/actions").json()["total"] == 12


def test_secretariat_amends_the_priority_areas_and_the_history_keeps_both(client, dg_rtd):
    response = client.patch(
        "/actions/9",
        headers=dg_rtd.headers,
        json={"priority_areas": [2, 4], "communication": COMMUNICATION},
    )
    assert response.status_code == 200, response.text
    action = response.json()
    assert action["priority_areas"] == [2, 4]
    change = action["history"][-1]
    assert change["change"] == "amended"
    assert change["before"]["priority_areas"] == [4]
    assert change["after"]["priority_areas"] == [2, 4]


def test_retire_and_restore(client, sedec):
    retired = client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "retired", "communication": COMMUNICATION},
    ).json()
    assert retired["status"] == "retired"
    assert retired["history"][-1]["change"] == "retired"
    assert [
        a["number"] for a in client.get("/actions", params={"status": "retired"}).json()["items"]
    ] == [5]
    restored = client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "active", "communication": COMMUNICATION},
    ).json()
    assert restored["status"] == "active"
    assert [entry["change"] for entry in restored["history"]] == ["added", "retired", "restored"]


def test_member_may_not_change_the_catalogue(client, member, db):
    count = audit_count(db)
    response = client.patch(
        "/actions/2", headers=member.headers, json={"title": "Mine", "communication": COMMUNICATION}
    )
    assert response.status_code == 403
    add = client.post(
        "/actions",
        headers=member.headers,
        json={"title": "Mine", "priority_areas": [1], "communication": COMMUNICATION},
    )
    assert add.status_code == 403
    assert audit_count(db) == count


def test_anonymous_may_not_change_the_catalogue(client):
    response = client.post(
        "/actions", json={"title": "X", "priority_areas": [1], "communication": COMMUNICATION}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": "No communication"}, "communication"),
        ({"title": "Bad date", "communication": {"reference": "R", "date": "2027-02-30"}}, "date"),
        (
            {"title": "Empty ref", "communication": {"reference": "", "date": "2027-02-03"}},
            "reference",
        ),
        ({"priority_areas": [], "communication": COMMUNICATION}, "priority_areas"),
        ({"priority_areas": [7], "communication": COMMUNICATION}, "Unknown priority area 7"),
        ({"focus_priority_area": 3, "communication": COMMUNICATION}, "focus priority area 3"),
        ({"title": "Two\nlines", "communication": COMMUNICATION}, "single line"),
        ({"status": "deleted", "communication": COMMUNICATION}, "status"),
        ({"title": "Unknown field", "colour": "red", "communication": COMMUNICATION}, "colour"),
        ({"priority_areas": None, "communication": COMMUNICATION}, "not emptied"),
        ({"title": None, "communication": COMMUNICATION}, "not emptied"),
        ({"status": None, "communication": COMMUNICATION}, "not emptied"),
    ],
)
def test_bad_amendments_are_422_and_change_nothing(client, sedec, db, body, message):
    before = client.get("/actions/2").json()
    count = audit_count(db)
    response = client.patch("/actions/2", headers=sedec.headers, json=body)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert client.get("/actions/2").json() == before
    assert audit_count(db) == count


def test_adding_an_action_without_a_communication_is_422(client, sedec, db):
    count = audit_count(db)
    response = client.post(
        "/actions", headers=sedec.headers, json={"title": "Unagreed", "priority_areas": [1]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "communication"]
    assert client.get("/actions").json()["total"] == 11
    assert audit_count(db) == count


@pytest.mark.parametrize("same", [{"title": "as it stands"}, {"status": "active"}, {}])
def test_an_amendment_that_changes_nothing_answers_the_action_and_records_nothing(
    client, sedec, db, same
):
    before = client.get("/actions/2").json()
    if same.get("title"):
        same = {"title": before["title"]}
    count = audit_count(db)
    response = client.patch(
        "/actions/2", headers=sedec.headers, json={**same, "communication": COMMUNICATION}
    )
    assert response.status_code == 200, response.text
    assert response.json() == before  # no new history entry either
    assert audit_count(db) == count


def test_catalogue_changes_are_audited_with_the_communication(client, sedec):
    client.patch(
        "/actions/7", headers=sedec.headers, json={"title": "CCIs", "communication": COMMUNICATION}
    )
    [entry] = client.get(
        "/audit", headers=sedec.headers, params={"entity_type": "action", "entity_id": "7"}
    ).json()["items"]
    assert entry["action"] == "action.amended"
    assert entry["actor_id"] == sedec.id
    assert entry["after"]["communication"] == COMMUNICATION["reference"]
    assert entry["before"]["title"].startswith("Promoting opportunities")


def _change(client, headers, how, date):
    communication = {"reference": "Ares(2026)7654321", "date": date}
    if how == "amend":
        body = {"title": "Missions in the regions", "communication": communication}
        return client.patch("/actions/3", headers=headers, json=body)
    body = {"title": "Skills", "priority_areas": [1], "communication": communication}
    return client.post("/actions", headers=headers, json=body)


@pytest.mark.parametrize("how", ["amend", "add"])
@pytest.mark.parametrize("date", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
def test_a_communication_dated_outside_the_years_the_service_takes_is_refused(
    client, sedec, db, how, date
):
    before, count = client.get("/actions").json(), audit_count(db)
    response = _change(client, sedec.headers, how, date)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "communication", "date"]
    assert "between 2000 and 2100" in problem["msg"]
    assert client.get("/actions").json() == before
    assert client.get("/actions/3").json()["history"][-1]["communication"]["date"] == "2026-04-24"
    assert audit_count(db) == count


@pytest.mark.parametrize("how", ["amend", "add"])
@pytest.mark.parametrize("date", ["2026-11-26", "2099-01-01"])
def test_a_communication_dated_after_today_is_refused(client, sedec, db, how, date):
    before, count = client.get("/actions").json(), audit_count(db)
    history = client.get("/actions/3").json()["history"]
    response = _change(client, sedec.headers, how, date)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "communication", "date"]
    assert date in problem["msg"]
    assert "2026-11-25" in problem["msg"]  # today
    assert client.get("/actions").json() == before
    assert client.get("/actions/3").json()["history"] == history
    assert audit_count(db) == count


def test_a_communication_dated_after_today_is_refused_even_when_nothing_would_change(
    client, sedec, db
):
    count = audit_count(db)
    response = client.patch(
        "/actions/2",
        headers=sedec.headers,
        json={"communication": {"reference": "Ares(2026)1", "date": "2026-12-01"}},
    )
    assert response.status_code == 422, response.text
    assert audit_count(db) == count


@pytest.mark.parametrize("how", ["amend", "add"])
def test_a_communication_dated_today_is_recorded(client, sedec, how):
    response = _change(client, sedec.headers, how, "2026-11-25")
    assert response.status_code in (200, 201), response.text
    assert response.json()["history"][-1]["communication"]["date"] == "2026-11-25"


def test_today_is_the_day_in_brussels_where_the_communications_are_exchanged(client, sedec, clock):
    clock.set(datetime(2026, 11, 25, 23, 30, tzinfo=UTC))  # 00:30 on the 26th in Brussels
    response = _change(client, sedec.headers, "amend", "2026-11-26")
    assert response.status_code == 200, response.text
    assert _change(client, sedec.headers, "amend", "2026-11-27").status_code == 422


@pytest.mark.parametrize("date", ["2020-01-01", "2026-04-23"])
def test_a_change_dated_before_the_action_existed_is_refused(client, sedec, db, date):
    """Action 7 came with the plan, adopted on 2026-04-24: no communication of before
    then can have changed it, and the history would say so for ever."""
    before, count = client.get("/actions/7").json(), audit_count(db)
    response = client.patch(
        "/actions/7",
        headers=sedec.headers,
        json={"status": "retired", "communication": {"reference": "Ares(1)", "date": date}},
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "communication", "date"]
    assert date in problem["msg"] and "2026-04-24" in problem["msg"]
    assert client.get("/actions/7").json() == before
    assert audit_count(db) == count


def test_a_change_dated_before_the_actions_latest_change_is_refused(client, sedec, db):
    first = {"reference": "Ares(2026)1", "date": "2026-11-10"}
    response = client.patch(
        "/actions/7", headers=sedec.headers, json={"title": "CCIs", "communication": first}
    )
    assert response.status_code == 200, response.text
    before, count = client.get("/actions/7").json(), audit_count(db)
    earlier = {"reference": "Ares(2026)2", "date": "2026-11-09"}
    for body in (
        {"status": "retired", "communication": earlier},
        {"communication": earlier},  # refused even when nothing would change
    ):
        response = client.patch("/actions/7", headers=sedec.headers, json=body)
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["body", "communication", "date"]
        assert "2026-11-09" in problem["msg"] and "2026-11-10" in problem["msg"]
    assert client.get("/actions/7").json() == before
    assert audit_count(db) == count
    # The same day as the latest change is fine: several changes may be agreed at once.
    same_day = {"reference": "Ares(2026)3", "date": "2026-11-10"}
    response = client.patch(
        "/actions/7", headers=sedec.headers, json={"status": "retired", "communication": same_day}
    )
    assert response.status_code == 200, response.text
    assert [h["change"] for h in response.json()["history"]] == ["added", "amended", "retired"]


def test_an_action_added_with_a_communication_before_the_plan_was_adopted_is_refused(
    client, sedec, db
):
    before, count = client.get("/actions").json(), audit_count(db)
    response = _change(client, sedec.headers, "add", "2026-04-23")
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "communication", "date"]
    assert "2026-04-23" in problem["msg"] and "2026-04-24" in problem["msg"]
    assert client.get("/actions").json() == before
    assert audit_count(db) == count
    # Agreed on the day the plan was adopted: an action the plan came with all along.
    response = _change(client, sedec.headers, "add", "2026-04-24")
    assert response.status_code == 201, response.text
