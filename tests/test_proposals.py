"""Topic proposals: who proposes, when, with which links to the plan; edits and withdrawals."""

import pytest

from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.seminars import (
    AFTER_VOTING,
    CLOSE,
    IN_PROPOSALS,
    IN_VOTING,
    OPEN,
    START,
    audit_entries,
    open_seminar,
    proposal_body,
    propose,
    put_support,
    support,
)


@pytest.fixture
def seminar(client, clock, sedec) -> dict:
    """Seminar 1 of 2027, with the clock in its proposals phase."""
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    return seminar


def test_a_member_proposes_a_topic_while_proposals_are_open(client, seminar, member, jrc):
    proposal = propose(client, member, seminar["id"])
    assert proposal["seminar_id"] == seminar["id"]
    assert proposal["title"] == "Regional innovation valleys"
    assert proposal["actions"] == [2, 10]
    assert proposal["priority_areas"] == [1, 2, 3, 4]  # the union of the actions' areas
    assert proposal["status"] == "submitted"
    assert proposal["proposer"] == {
        "id": member.id,
        "name": "Maria Member",
        "institution": None,
        "member_state": "PT",
    }
    assert proposal["submitted_at"] == "2026-12-10T10:00:00Z"
    assert proposal["supports"] is None  # the tally is not visible to members yet
    assert proposal["supported_by_me"] is False
    assert client.get(f"/proposals/{proposal['id']}", headers=member.headers).json() == proposal
    [entry] = audit_entries(client, jrc, "proposal", proposal["id"])
    assert entry["action"] == "proposal.submitted"
    assert entry["actor_id"] == member.id
    assert entry["after"]["seminar_id"] == seminar["id"]


def test_secretariat_staff_propose_for_their_institution(client, seminar, dg_rtd):
    proposal = propose(client, dg_rtd, seminar["id"], actions=[9], priority_areas=[4])
    assert proposal["proposer"]["institution"] == "dg_rtd"
    assert proposal["proposer"]["member_state"] is None
    assert proposal["priority_areas"] == [4]
    assert proposal["supports"] == 0  # the secretariat sees the tally at any time


@pytest.mark.parametrize(
    ("links", "message"),
    [
        (
            {"actions": [2], "priority_areas": [4]},
            "Priority area 4 is served by none of the actions 2",
        ),
        ({"actions": [99]}, "Unknown action 99"),
        ({"actions": []}, "actions"),
        ({"actions": [2], "priority_areas": [7]}, "Unknown priority area 7"),
    ],
)
def test_links_to_the_plan_follow_the_catalogue_rules(client, seminar, member, db, links, message):
    count = audit_count(db)
    response = client.post(
        f"/seminars/{seminar['id']}/proposals", headers=member.headers, json=proposal_body(**links)
    )
    assert response.status_code == 422
    assert message in response.text
    assert audit_count(db) == count
    assert client.get(f"/seminars/{seminar['id']}/proposals").json()["items"] == []


def test_a_retired_action_takes_no_new_proposals(client, seminar, member, sedec):
    retire = client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "retired", "communication": {"reference": "Ares(1)", "date": "2026-11-20"}},
    )
    assert retire.status_code == 200
    response = client.post(
        f"/seminars/{seminar['id']}/proposals",
        headers=member.headers,
        json=proposal_body(actions=[5]),
    )
    assert response.status_code == 422
    assert "Action 5 is retired" in detail_of(response)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "Two\nlines"}, "single line"),
        ({"title": ""}, "title"),
        ({"summary": "   "}, "must not be empty"),
        ({"summary": "bad \x00 byte"}, "control characters"),
        ({"colour": "red"}, "colour"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_bad_proposals_are_422(client, seminar, member, fields, message):
    response = client.post(
        f"/seminars/{seminar['id']}/proposals", headers=member.headers, json=proposal_body(**fields)
    )
    assert response.status_code == 422
    assert message in response.text


def test_a_summary_may_span_lines(client, seminar, member):
    proposal = propose(client, member, seminar["id"], summary="First line.\nSecond line.")
    assert proposal["summary"] == "First line.\nSecond line."


@pytest.mark.parametrize("who", ["participant", "admin"])
def test_participants_and_admins_do_not_propose(client, seminar, request, db, who):
    account = request.getfixturevalue(who)
    count = audit_count(db)
    path = f"/seminars/{seminar['id']}/proposals"
    response = client.post(path, headers=account.headers, json=proposal_body())
    assert response.status_code == 403
    assert "member, secretariat" in detail_of(response)
    assert client.post(path, json=proposal_body()).status_code == 401
    assert audit_count(db) == count


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (OPEN.replace(hour=8), "open on 2026-12-01T09:00:00Z until 2027-01-15T17:00:00Z"),
        (CLOSE, "were open from 2026-12-01T09:00:00Z until 2027-01-15T17:00:00Z"),
        (AFTER_VOTING, "were open from 2026-12-01T09:00:00Z until 2027-01-15T17:00:00Z"),
    ],
)
def test_proposing_outside_the_window_is_409_with_its_dates(
    client, seminar, clock, member, db, moment, words
):
    clock.set(moment)
    count = audit_count(db)
    response = client.post(
        f"/seminars/{seminar['id']}/proposals", headers=member.headers, json=proposal_body()
    )
    assert response.status_code == 409
    assert words in detail_of(response)
    assert audit_count(db) == count


def test_proposing_to_an_unknown_seminar_is_404(client, member):
    response = client.post(
        "/seminars/999999/proposals", headers=member.headers, json=proposal_body()
    )
    assert response.status_code == 404
    assert client.get("/seminars/999999/proposals").status_code == 404
    assert client.get("/proposals/999999").status_code == 404


def test_the_same_topic_from_the_same_proposer_twice_is_409(client, seminar, member, db):
    first = propose(client, member, seminar["id"])
    count = audit_count(db)
    for title in ("Regional innovation valleys", "  regional   INNOVATION valleys "):
        again = client.post(
            f"/seminars/{seminar['id']}/proposals",
            headers=member.headers,
            json=proposal_body(title=title, summary="Another summary.", actions=[9]),
        )
        assert again.status_code == 409, again.text
        assert (
            f'You already proposed "Regional innovation valleys" for Seminar 1 of 2027 '
            f"(proposal {first['id']})"
        ) in detail_of(again)
    assert audit_count(db) == count
    listed = client.get(f"/seminars/{seminar['id']}/proposals").json()["items"]
    assert [p["id"] for p in listed] == [first["id"]]


def test_the_same_title_from_another_proposer_or_for_another_seminar_is_a_proposal(
    client, clock, seminar, member, dg_rtd, sedec, make_account
):
    clock.set(START)  # seminars open with dates still ahead
    other_seminar = open_seminar(client, sedec, number=2)
    clock.set(IN_PROPOSALS)
    made = [
        propose(client, member, seminar["id"]),
        propose(client, make_account("member"), seminar["id"]),
        propose(client, dg_rtd, seminar["id"]),
        propose(client, member, other_seminar["id"]),
    ]
    assert len({proposal["id"] for proposal in made}) == 4


def test_a_withdrawn_topic_may_be_proposed_again(client, seminar, member):
    first = propose(client, member, seminar["id"])
    client.post(f"/proposals/{first['id']}/withdraw", headers=member.headers)
    again = propose(client, member, seminar["id"], title="REGIONAL innovation valleys")
    assert again["id"] != first["id"]
    # Withdrawn twice over: the title may come back once more.
    client.post(f"/proposals/{again['id']}/withdraw", headers=member.headers)
    third = propose(client, member, seminar["id"])
    listed = client.get(f"/seminars/{seminar['id']}/proposals").json()["items"]
    assert [(p["id"], p["status"]) for p in listed] == [
        (first["id"], "withdrawn"),
        (again["id"], "withdrawn"),
        (third["id"], "submitted"),
    ]


def test_an_edit_that_would_repeat_another_proposal_is_409(client, seminar, member, db):
    first = propose(client, member, seminar["id"])
    second = propose(client, member, seminar["id"], title="Risk data for regions")
    count = audit_count(db)
    edit = client.patch(
        f"/proposals/{second['id']}",
        headers=member.headers,
        json={"title": "Regional Innovation Valleys", "summary": "Changed too."},
    )
    assert edit.status_code == 409, edit.text
    assert f"(proposal {first['id']})" in detail_of(edit)
    assert audit_count(db) == count
    kept = client.get(f"/proposals/{second['id']}").json()
    assert (kept["title"], kept["summary"]) == ("Risk data for regions", second["summary"])
    # Its own title in other letters, and a title freed by a withdrawal, are fine.
    same = client.patch(
        f"/proposals/{first['id']}",
        headers=member.headers,
        json={"title": "REGIONAL INNOVATION VALLEYS"},
    )
    assert same.status_code == 200, same.text
    client.post(f"/proposals/{first['id']}/withdraw", headers=member.headers)
    freed = client.patch(
        f"/proposals/{second['id']}",
        headers=member.headers,
        json={"title": "Regional innovation valleys"},
    )
    assert freed.status_code == 200, freed.text


# Editing and withdrawing


def test_the_proposer_edits_their_proposal(client, seminar, member, jrc):
    proposal = propose(client, member, seminar["id"])
    response = client.patch(
        f"/proposals/{proposal['id']}",
        headers=member.headers,
        json={"title": "Innovation valleys, revisited", "actions": [9]},
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["title"] == "Innovation valleys, revisited"
    assert edited["actions"] == [9]
    assert edited["priority_areas"] == [4]  # the new actions' areas
    assert edited["summary"] == proposal["summary"]
    entry = audit_entries(client, jrc, "proposal", proposal["id"])[-1]
    assert entry["action"] == "proposal.updated"
    assert entry["actor_id"] == member.id
    assert entry["before"]["actions"] == [2, 10]
    assert entry["after"]["actions"] == [9]


def test_narrowing_the_priority_areas_keeps_the_actions(client, seminar, member):
    proposal = propose(client, member, seminar["id"])
    response = client.patch(
        f"/proposals/{proposal['id']}", headers=member.headers, json={"priority_areas": [2]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["actions"] == [2, 10]
    assert response.json()["priority_areas"] == [2]
    wrong = client.patch(
        f"/proposals/{proposal['id']}",
        headers=member.headers,
        json={"actions": [2], "priority_areas": [4]},
    )
    assert wrong.status_code == 422
    assert "served by none" in detail_of(wrong)
    assert client.get(f"/proposals/{proposal['id']}").json()["priority_areas"] == [2]


@pytest.mark.parametrize("again", [[2, 10], [10, 2, 2]])
def test_the_same_actions_again_keep_narrowed_priority_areas(client, seminar, member, db, again):
    proposal = propose(client, member, seminar["id"], actions=[2, 10], priority_areas=[2])
    count = audit_count(db)
    response = client.patch(
        f"/proposals/{proposal['id']}", headers=member.headers, json={"actions": again}
    )
    assert response.status_code == 200, response.text
    assert response.json() == proposal
    assert audit_count(db) == count


def test_a_retired_action_already_linked_stays_through_an_edit(client, seminar, member, sedec):
    proposal = propose(client, member, seminar["id"], actions=[5, 10])
    client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "retired", "communication": {"reference": "Ares(2)", "date": "2026-12-01"}},
    )
    response = client.patch(
        f"/proposals/{proposal['id']}", headers=member.headers, json={"priority_areas": [1]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["actions"] == [5, 10]


@pytest.mark.parametrize(
    "same", [{}, {"title": "Regional innovation valleys"}, {"actions": [10, 2]}]
)
def test_an_edit_that_changes_nothing_answers_the_proposal_and_records_nothing(
    client, seminar, member, db, clock, same
):
    proposal = propose(client, member, seminar["id"])
    count = audit_count(db)
    for moment in (IN_PROPOSALS, CLOSE):  # even once proposals have closed
        clock.set(moment)
        response = client.patch(f"/proposals/{proposal['id']}", headers=member.headers, json=same)
        assert response.status_code == 200, response.text
        assert response.json() == proposal
    assert audit_count(db) == count


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": None}, "may be changed but not emptied"),
        ({"title": "Two\nlines"}, "single line"),
    ],
)
def test_bad_edits_are_422(client, seminar, member, body, message):
    proposal = propose(client, member, seminar["id"])
    response = client.patch(f"/proposals/{proposal['id']}", headers=member.headers, json=body)
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize("who", ["dg_rtd", "participant", "other_member"])
def test_only_the_proposer_edits_or_withdraws(
    client, seminar, member, make_account, request, db, who
):
    if who == "other_member":
        account = make_account("member", "Otto Other")
    else:
        account = request.getfixturevalue(who)
    proposal = propose(client, member, seminar["id"])
    count = audit_count(db)
    edit = client.patch(
        f"/proposals/{proposal['id']}", headers=account.headers, json={"title": "Mine"}
    )
    assert edit.status_code == 403
    assert "To edit proposal" in detail_of(edit)
    assert "needs its proposer, Maria Member" in detail_of(edit)
    withdraw = client.post(f"/proposals/{proposal['id']}/withdraw", headers=account.headers)
    assert withdraw.status_code == 403
    assert client.post(f"/proposals/{proposal['id']}/withdraw").status_code == 401
    assert audit_count(db) == count
    assert client.get(f"/proposals/{proposal['id']}").json()["status"] == "submitted"


def test_the_proposer_withdraws_and_the_record_stays(client, seminar, member, jrc):
    proposal = propose(client, member, seminar["id"])
    response = client.post(f"/proposals/{proposal['id']}/withdraw", headers=member.headers)
    assert response.status_code == 200, response.text
    withdrawn = response.json()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["withdrawn_at"] == "2026-12-10T10:00:00Z"
    listed = client.get(f"/seminars/{seminar['id']}/proposals").json()["items"]
    assert [(p["id"], p["status"]) for p in listed] == [(proposal["id"], "withdrawn")]
    entry = audit_entries(client, jrc, "proposal", proposal["id"])[-1]
    assert entry["action"] == "proposal.withdrawn"
    assert entry["actor_id"] == member.id


def test_withdrawing_again_answers_the_proposal_and_editing_it_is_409(
    client, seminar, member, db, clock
):
    proposal = propose(client, member, seminar["id"])
    withdrawn = client.post(f"/proposals/{proposal['id']}/withdraw", headers=member.headers)
    count = audit_count(db)
    clock.set(CLOSE)  # even once proposals have closed
    again = client.post(f"/proposals/{proposal['id']}/withdraw", headers=member.headers)
    assert again.status_code == 200, again.text
    assert again.json() == withdrawn.json()
    clock.set(IN_PROPOSALS)
    edit = client.patch(f"/proposals/{proposal['id']}", headers=member.headers, json={"title": "X"})
    assert edit.status_code == 409
    assert "was withdrawn on 2026-12-10T10:00:00Z" in detail_of(edit)
    assert audit_count(db) == count


def test_edits_and_withdrawals_end_when_proposals_close(client, seminar, clock, member, db):
    proposal = propose(client, member, seminar["id"])
    clock.set(CLOSE)
    count = audit_count(db)
    edit = client.patch(f"/proposals/{proposal['id']}", headers=member.headers, json={"title": "X"})
    assert edit.status_code == 409
    assert "until 2027-01-15T17:00:00Z" in detail_of(edit)
    withdraw = client.post(f"/proposals/{proposal['id']}/withdraw", headers=member.headers)
    assert withdraw.status_code == 409
    assert audit_count(db) == count
    assert client.get(f"/proposals/{proposal['id']}").json()["title"] == proposal["title"]


# Listing


def test_supports_show_once_the_tally_is_visible(
    client, seminar, clock, member, participant, dg_rtd, make_account
):
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    voters = [make_account("member", f"Voter {n}") for n in range(2)]
    for voter in voters:
        assert put_support(client, voter, proposal["id"]).status_code == 200
    path = f"/seminars/{seminar['id']}/proposals"
    assert client.get(path).json()["items"][0]["supports"] is None
    assert client.get(path, headers=participant.headers).json()["items"][0]["supports"] is None
    mine = client.get(path, headers=voters[0].headers).json()["items"][0]
    assert (mine["supports"], mine["supported_by_me"]) == (None, True)
    assert client.get(path, headers=dg_rtd.headers).json()["items"][0]["supports"] == 2
    clock.set(AFTER_VOTING)
    assert client.get(path).json()["items"][0]["supports"] == 2
    assert client.get(f"/proposals/{proposal['id']}").json()["supports"] == 2
    assert client.get(path).json()["items"][0]["supported_by_me"] is None


def test_the_list_filters_by_status(client, seminar, member, dg_rtd):
    kept = propose(client, member, seminar["id"])
    gone = propose(client, dg_rtd, seminar["id"], title="Another topic")
    client.post(f"/proposals/{gone['id']}/withdraw", headers=dg_rtd.headers)
    path = f"/seminars/{seminar['id']}/proposals"
    assert [p["id"] for p in client.get(path).json()["items"]] == [kept["id"], gone["id"]]
    submitted = client.get(path, params={"status": "submitted"}).json()["items"]
    assert [p["id"] for p in submitted] == [kept["id"]]
    assert client.get(path, params={"status": "lost"}).status_code == 422


def test_listing_proposals_takes_the_same_queries_for_few_or_many(
    client, seminar, clock, member, dg_rtd, make_account, count_queries
):
    propose(client, member, seminar["id"])
    path = f"/seminars/{seminar['id']}/proposals"
    client.get(path, headers=dg_rtd.headers)  # the token's use is noted once a minute
    with count_queries() as few:
        client.get(path, headers=dg_rtd.headers)
    for n in range(5):
        proposer = make_account("member", f"Proposer {n}", member_state="FR", region="Bretagne")
        propose(client, proposer, seminar["id"], title=f"Topic {n}", actions=[n + 1])
    clock.set(IN_VOTING)
    for proposal in client.get(path).json()["items"][:3]:
        support(client, member, proposal["id"])
    client.get(path, headers=dg_rtd.headers)
    with count_queries() as many:
        assert client.get(path, headers=dg_rtd.headers).json()["total"] == 6
    assert len(many) == len(few)
