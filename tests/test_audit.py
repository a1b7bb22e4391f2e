"""The audit trail: readable by the secretariat and admins, append-only in the database."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_audit_is_for_secretariat_and_admin_only(client, member, participant, jrc, admin):
    assert client.get("/audit").status_code == 401
    assert client.get("/audit", headers=member.headers).status_code == 403
    assert client.get("/audit", headers=participant.headers).status_code == 403
    assert client.get("/audit", headers=jrc.headers).status_code == 200
    assert client.get("/audit", headers=admin.headers).status_code == 200


def test_audit_is_newest_first_and_paginated(client, admin, make_account):
    for _ in range(3):
        make_account("participant")
    first = client.get("/audit", headers=admin.headers, params={"limit": 2}).json()
    assert first["limit"] == 2
    assert len(first["items"]) == 2
    assert first["total"] >= 4
    ids = [entry["id"] for entry in first["items"]]
    assert ids == sorted(ids, reverse=True)
    second = client.get("/audit", headers=admin.headers, params={"limit": 2, "offset": 2}).json()
    assert second["items"][0]["id"] < ids[-1]


def test_audit_filters_by_entity(client, admin, member):
    entries = client.get(
        "/audit", headers=admin.headers, params={"entity_type": "user", "entity_id": member.id}
    ).json()
    assert entries["total"] == 2  # created, then its first token
    assert {entry["entity_id"] for entry in entries["items"]} == {member.id}


@pytest.mark.parametrize("kind", ["users", "bogus", "Event"])
def test_an_entity_type_the_trail_does_not_hold_is_refused_naming_those_it_does(
    client, admin, kind
):
    """An empty list would read as "nothing happened to it"."""
    refused = client.get("/audit", headers=admin.headers, params={"entity_type": kind})
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["query", "entity_type"]
    for known in ("user", "registration", "proposal", "seminar", "event", "action", "outbox"):
        assert f"'{known}'" in error["msg"]


@pytest.mark.parametrize("params", [{"limit": 100000}, {"offset": 2**63}, {"offset": -1}])
def test_audit_paging_is_bounded(client, admin, params):
    response = client.get("/audit", headers=admin.headers, params=params)
    assert response.status_code == 422


@pytest.mark.parametrize("table", ["audit_entries", "action_changes"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET before = NULL", "DELETE FROM {table}"])
def test_history_tables_are_append_only_in_the_database(db, member, table, statement):
    assert db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement.format(table=table)))
