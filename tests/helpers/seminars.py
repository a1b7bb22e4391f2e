"""A seminar's timeline, and opening a seminar, proposing and supporting over HTTP."""

from datetime import UTC, datetime

# The timeline of seminar 1 of 2027; the test clock starts on 2026-11-25, before it.
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
OPEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLOSE = datetime(2027, 1, 15, 17, 0, tzinfo=UTC)
VOTING_CLOSE = datetime(2027, 2, 1, 17, 0, tzinfo=UTC)
IN_PROPOSALS = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
IN_VOTING = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
AFTER_VOTING = datetime(2027, 2, 5, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def seminar_body(**overrides) -> dict:
    return {
        "year": 2027,
        "number": 1,
        "proposals_open_at": iso(OPEN),
        "proposals_close_at": iso(CLOSE),
        "voting_close_at": iso(VOTING_CLOSE),
        **overrides,
    }


def open_seminar(client, account, **overrides) -> dict:
    response = client.post("/seminars", headers=account.headers, json=seminar_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def proposal_body(**overrides) -> dict:
    return {
        "title": "Regional innovation valleys",
        "summary": "How regions build innovation ecosystems together.",
        "actions": [2, 10],
        **overrides,
    }


def propose(client, account, seminar_id: int, **overrides) -> dict:
    response = client.post(
        f"/seminars/{seminar_id}/proposals",
        headers=account.headers,
        json=proposal_body(**overrides),
    )
    assert response.status_code == 201, response.text
    return response.json()


def put_support(client, account, proposal_id: int):
    """Ask to support a proposal; the answer, whatever it is."""
    return client.put(f"/proposals/{proposal_id}/support", headers=account.headers)


def support(client, account, proposal_id: int) -> dict:
    """Support a proposal, which must succeed."""
    response = put_support(client, account, proposal_id)
    assert response.status_code == 200, response.text
    return response.json()


def audit_entries(client, account, entity_type: str, entity_id: int) -> list[dict]:
    response = client.get(
        "/audit",
        headers=account.headers,
        params={"entity_type": entity_type, "entity_id": str(entity_id), "limit": 200},
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def seminar_in_voting(client, clock, secretariat, member) -> dict:
    """A seminar opened by ``secretariat``, with a topic ``member`` proposed and
    supports, the clock moved into its voting; both tokens' last use recorded, so that
    reads that follow write nothing."""
    seminar = open_seminar(client, secretariat)  # opened with its dates still ahead
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    for account in (member, secretariat):
        assert client.get("/me", headers=account.headers).status_code == 200
    return seminar
