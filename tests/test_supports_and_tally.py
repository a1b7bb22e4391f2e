"""Supports during voting, the cap per voter and seminar, and the tally."""

from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEntry, Support
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.seminars import (
    AFTER_VOTING,
    CLOSE,
    IN_PROPOSALS,
    IN_VOTING,
    START,
    VOTING_CLOSE,
    audit_entries,
    open_seminar,
    propose,
    put_support,
    support,
)


@pytest.fixture
def seminar(client, clock, sedec) -> dict:
    return open_seminar(client, sedec)


@pytest.fixture
def proposals(client, clock, seminar, member, dg_rtd, make_account) -> list[dict]:
    """Five proposals, submitted one hour apart, with the clock then in the voting phase."""
    made = []
    for n in range(5):
        clock.set(IN_PROPOSALS.replace(hour=10 + n))
        proposer = member if n == 0 else dg_rtd if n == 1 else make_account("member")
        made.append(propose(client, proposer, seminar["id"], title=f"Topic {n}", actions=[n + 1]))
    clock.set(IN_VOTING)
    return made


def take_back(client, account, proposal_id: int):
    return client.delete(f"/proposals/{proposal_id}/support", headers=account.headers)


def test_a_member_supports_a_proposal_during_voting(client, proposals, member, jrc, db):
    response = put_support(client, member, proposals[1]["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "proposal_id": proposals[1]["id"],
        "seminar_id": proposals[1]["seminar_id"],
        "supported": True,
        "affiliation": "cor",
        "given_at": "2027-01-20T10:00:00Z",
        "withdrawn_at": None,
        "supports_given": 1,
        "support_cap": 3,
    }
    row = db.scalars(select(Support).where(Support.voter_id == member.id)).one()
    assert (row.proposal_id, row.affiliation) == (proposals[1]["id"], "cor")
    entry = audit_entries(client, jrc, "proposal", proposals[1]["id"])[-1]
    assert entry["action"] == "support.given"
    # The trail keeps who supported; its readers see the support, not the voter.
    assert (entry["actor_id"], entry["after"]) == (None, {"affiliation": "cor"})
    stored = db.get(AuditEntry, entry["id"])
    assert (stored.actor_id, stored.after) == (
        member.id,
        {"voter_id": member.id, "affiliation": "cor"},
    )


def test_supporting_again_changes_nothing(client, proposals, member, db):
    first = put_support(client, member, proposals[0]["id"]).json()
    count = audit_count(db)
    again = put_support(client, member, proposals[0]["id"])
    assert again.status_code == 200
    assert again.json() == first
    assert audit_count(db) == count
    assert len(db.scalars(select(Support).where(Support.voter_id == member.id)).all()) == 1


@pytest.mark.parametrize("who", ["dg_rtd", "sedec", "jrc"])
def test_secretariat_staff_support_for_their_institution(client, proposals, request, who):
    account = request.getfixturevalue(who)
    response = put_support(client, account, proposals[0]["id"])
    assert response.status_code == 200, response.text
    assert response.json()["affiliation"] == account.user.institution


@pytest.mark.parametrize("who", ["participant", "admin"])
def test_participants_and_admins_do_not_support(client, proposals, request, db, who):
    account = request.getfixturevalue(who)
    count = audit_count(db)
    response = put_support(client, account, proposals[0]["id"])
    assert response.status_code == 403
    assert "member, secretariat" in detail_of(response)
    assert take_back(client, account, proposals[0]["id"]).status_code == 403
    assert client.put(f"/proposals/{proposals[0]['id']}/support").status_code == 401
    assert audit_count(db) == count


def test_supporting_an_unknown_proposal_is_404(client, member):
    assert put_support(client, member, 999999).status_code == 404
    assert take_back(client, member, 999999).status_code == 404


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (IN_PROPOSALS, "opens on 2027-01-15T17:00:00Z until 2027-02-01T17:00:00Z"),
        (VOTING_CLOSE, "was open from 2027-01-15T17:00:00Z until 2027-02-01T17:00:00Z"),
    ],
)
def test_supporting_outside_voting_is_409(client, proposals, clock, member, db, moment, words):
    clock.set(moment)
    count = audit_count(db)
    response = put_support(client, member, proposals[0]["id"])
    assert response.status_code == 409
    assert words in detail_of(response)
    assert audit_count(db) == count


def test_voting_opens_the_moment_proposals_close(client, proposals, clock, member):
    clock.set(CLOSE)
    assert put_support(client, member, proposals[0]["id"]).status_code == 200


def test_a_withdrawn_proposal_takes_no_support(client, seminar, clock, member, dg_rtd, db):
    clock.set(IN_PROPOSALS)
    proposal = propose(client, dg_rtd, seminar["id"])
    client.post(f"/proposals/{proposal['id']}/withdraw", headers=dg_rtd.headers)
    clock.set(IN_VOTING)
    count = audit_count(db)
    response = put_support(client, member, proposal["id"])
    assert response.status_code == 409
    assert f"Proposal {proposal['id']} was withdrawn" in detail_of(response)
    assert audit_count(db) == count


def test_the_support_beyond_the_cap_is_refused_naming_the_cap(client, proposals, member, db):
    for proposal in proposals[:3]:
        assert put_support(client, member, proposal["id"]).status_code == 200
    count = audit_count(db)
    fourth = put_support(client, member, proposals[3]["id"])
    assert fourth.status_code == 409
    assert "the cap of 3 supports per voter" in detail_of(fourth)
    assert audit_count(db) == count
    # Supporting one already supported is still fine at the cap.
    assert put_support(client, member, proposals[0]["id"]).status_code == 200
    # Taking one back frees a support.
    assert take_back(client, member, proposals[0]["id"]).json()["supports_given"] == 2
    assert put_support(client, member, proposals[3]["id"]).json()["supports_given"] == 3


def test_the_cap_is_a_setting(client, app, proposals, member):
    app.state.settings = app.state.settings.model_copy(update={"support_cap": 1})
    assert put_support(client, member, proposals[0]["id"]).json()["support_cap"] == 1
    response = put_support(client, member, proposals[1]["id"])
    assert response.status_code == 409
    assert "the cap of 1 supports" in detail_of(response)


def test_the_cap_counts_per_seminar(client, clock, proposals, sedec, member):
    clock.set(START)  # seminars open with dates still ahead
    other = open_seminar(client, sedec, number=2)
    clock.set(IN_PROPOSALS)
    theirs = [
        propose(client, sedec, other["id"], title=f"Other {n}", actions=[n + 1]) for n in range(2)
    ]
    clock.set(IN_VOTING)
    for proposal in proposals[:3]:
        assert put_support(client, member, proposal["id"]).status_code == 200
    for proposal in theirs:
        assert put_support(client, member, proposal["id"]).status_code == 200


def test_taking_a_support_back(client, proposals, member, jrc, db, clock):
    support(client, member, proposals[0]["id"])
    clock.advance(hours=1)
    response = take_back(client, member, proposals[0]["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "proposal_id": proposals[0]["id"],
        "seminar_id": proposals[0]["seminar_id"],
        "supported": False,
        "affiliation": "cor",
        "given_at": "2027-01-20T10:00:00Z",
        "withdrawn_at": "2027-01-20T11:00:00Z",
        "supports_given": 0,
        "support_cap": 3,
    }
    [kept] = db.scalars(select(Support).where(Support.voter_id == member.id)).all()
    assert kept.withdrawn_at is not None  # taken back, and kept
    listed = client.get(f"/proposals/{proposals[0]['id']}", headers=member.headers).json()
    assert listed["supported_by_me"] is False
    entry = audit_entries(client, jrc, "proposal", proposals[0]["id"])[-1]
    assert entry["action"] == "support.withdrawn"
    assert (entry["actor_id"], entry["before"]) == (None, {"affiliation": "cor"})
    stored = db.get(AuditEntry, entry["id"])
    assert (stored.actor_id, stored.before) == (
        member.id,
        {"voter_id": member.id, "affiliation": "cor"},
    )
    count = audit_count(db)
    again = take_back(client, member, proposals[0]["id"])  # nothing left to take back
    assert again.status_code == 200
    assert again.json() == response.json()
    never = take_back(client, member, proposals[1]["id"])
    assert never.status_code == 200
    assert (never.json()["supported"], never.json()["given_at"]) == (False, None)
    assert audit_count(db) == count


def test_repeating_a_support_or_its_taking_back_answers_it_as_it_stands_after_voting(
    client, proposals, clock, member, db
):
    given = support(client, member, proposals[0]["id"])
    clock.set(AFTER_VOTING)
    count = audit_count(db)
    again = put_support(client, member, proposals[0]["id"])
    assert again.status_code == 200, again.text
    assert again.json() == given
    nothing = take_back(client, member, proposals[1]["id"])
    assert nothing.status_code == 200
    assert nothing.json()["supported"] is False
    assert audit_count(db) == count


def test_a_support_taken_back_frees_its_place_and_can_be_given_again(
    client, proposals, member, sedec, settings
):
    for proposal in proposals[: settings.support_cap]:
        support(client, member, proposal["id"])
    take_back(client, member, proposals[0]["id"])
    again = put_support(client, member, proposals[0]["id"])
    assert again.status_code == 200, again.text
    assert again.json()["supports_given"] == settings.support_cap
    tally = client.get(f"/seminars/{proposals[0]['seminar_id']}/tally", headers=sedec.headers)
    counted = {entry["proposal_id"]: entry["supports"] for entry in tally.json()["proposals"]}
    assert counted[proposals[0]["id"]] == 1


def test_a_support_is_not_taken_back_after_voting(client, proposals, clock, member, db):
    support(client, member, proposals[0]["id"])
    clock.set(AFTER_VOTING)
    count = audit_count(db)
    response = take_back(client, member, proposals[0]["id"])
    assert response.status_code == 409
    assert "supports are given or taken back only while it is open" in detail_of(response)
    assert audit_count(db) == count
    assert len(db.scalars(select(Support).where(Support.voter_id == member.id)).all()) == 1


# The tally


def test_the_tally_orders_by_supports_then_earlier_submission(
    client, proposals, member, dg_rtd, sedec, jrc, make_account
):
    others = [
        make_account("member", f"Member {n}", member_state="IT", region="Lazio") for n in range(2)
    ]
    votes = [
        (member, [3, 1, 4]),
        (others[0], [3, 4, 0]),
        (others[1], [4]),
        (dg_rtd, [3, 1]),
        (sedec, [3]),
        (jrc, [1]),
    ]
    for voter, picks in votes:
        for pick in picks:
            assert put_support(client, voter, proposals[pick]["id"]).status_code == 200
    tally = client.get(f"/seminars/{proposals[0]['seminar_id']}/tally", headers=sedec.headers)
    assert tally.status_code == 200, tally.text
    body = tally.json()
    assert body["phase"] == "voting"
    assert body["final"] is False
    assert body["voters"] == 6
    ranking = [(entry["title"], entry["supports"]) for entry in body["proposals"]]
    # Topic 1 and Topic 4 have three each: Topic 1 was submitted earlier.
    assert ranking == [
        ("Topic 3", 4),
        ("Topic 1", 3),
        ("Topic 4", 3),
        ("Topic 0", 1),
        ("Topic 2", 0),
    ]
    splits = {entry["title"]: entry["by_institution"] for entry in body["proposals"]}
    assert splits["Topic 3"] == {"cor": 2, "dg_rtd": 1, "cor_sedec": 1, "jrc": 0}
    assert splits["Topic 1"] == {"cor": 1, "dg_rtd": 1, "cor_sedec": 0, "jrc": 1}
    assert splits["Topic 2"] == {"cor": 0, "dg_rtd": 0, "cor_sedec": 0, "jrc": 0}


def test_the_tally_leaves_out_withdrawn_proposals(client, seminar, clock, member, dg_rtd):
    clock.set(IN_PROPOSALS)
    kept = propose(client, member, seminar["id"])
    gone = propose(client, dg_rtd, seminar["id"], title="Gone")
    client.post(f"/proposals/{gone['id']}/withdraw", headers=dg_rtd.headers)
    tally = client.get(f"/seminars/{seminar['id']}/tally", headers=dg_rtd.headers).json()
    assert [entry["proposal_id"] for entry in tally["proposals"]] == [kept["id"]]


def test_the_tally_is_the_secretariats_until_voting_closes(
    client, proposals, clock, member, participant, jrc, db
):
    path = f"/seminars/{proposals[0]['seminar_id']}/tally"
    support(client, member, proposals[2]["id"])
    for headers in (member.headers, participant.headers, {}):
        response = client.get(path, headers=headers)
        assert response.status_code == 403
        assert "needs the role secretariat until voting closes on 2027-02-01T17:00:00Z" in (
            detail_of(response)
        )
    clock.set(IN_PROPOSALS)
    assert client.get(path, headers=jrc.headers).status_code == 200
    clock.set(VOTING_CLOSE)
    for headers in (member.headers, participant.headers, {}):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.json()["final"] is True
        assert response.json()["proposals"][0]["proposal_id"] == proposals[2]["id"]


def test_the_tally_of_an_unknown_seminar_is_404(client, jrc):
    assert client.get("/seminars/999999/tally", headers=jrc.headers).status_code == 404


def test_the_tally_takes_the_same_queries_for_few_or_many_supports(
    client, proposals, make_account, sedec, count_queries
):
    path = f"/seminars/{proposals[0]['seminar_id']}/tally"

    def counted_afresh() -> Any:
        client.app.state.answers.clear()  # the tally counted, not answered from memory
        client.app.state.callers.clear()
        with count_queries() as counted:
            assert client.get(path, headers=sedec.headers).status_code == 200
        return counted

    client.get(path, headers=sedec.headers)
    few = counted_afresh()
    for n in range(4):
        voter = make_account("member", f"Voter {n}")
        for proposal in proposals[n : n + 3]:
            support(client, voter, proposal["id"])
    client.get(path, headers=sedec.headers)  # the token's use is noted once a minute
    many = counted_afresh()
    assert client.get(path, headers=sedec.headers).json()["voters"] == 4
    assert len(many) == len(few) == 5  # the state, who, the seminar, proposals, supports
