"""Accounts, roles and API tokens."""

import pytest
from sqlalchemy import select

from app.models import ApiToken, User
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count


def test_me_answers_the_caller(client, sedec):
    response = client.get("/me", headers=sedec.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == sedec.id
    assert body["role"] == "secretariat"
    assert body["institution"] == "cor_sedec"
    assert body["name"] == "Sven Sedec"


def test_no_token_gets_401_with_bearer_challenge(client):
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in detail_of(response)


def test_wrong_token_gets_401(client, member):
    response = client.get("/me", headers={"Authorization": "Bearer kep_not-a-real-token"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "unknown or has been revoked" in detail_of(response)


def test_wrong_role_gets_403(client, member):
    response = client.post(
        "/users",
        headers=member.headers,
        json={"name": "X", "email": "x@example.eu", "role": "participant"},
    )
    assert response.status_code == 403
    assert "admin" in detail_of(response)


def test_admin_creates_a_member(client, admin, db):
    response = client.post(
        "/users",
        headers=admin.headers,
        json={
            "name": "Jean Dupont",
            "email": "Jean.Dupont@Example.EU",
            "role": "member",
            "member_state": "FR",
            "region": "Occitanie",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "jean.dupont@example.eu"
    assert body["member_state"] == "FR"
    assert db.get(User, body["id"]).region == "Occitanie"


def test_greece_is_accepted_as_el_and_kept_as_iso_gr(client, admin):
    response = client.post(
        "/users",
        headers=admin.headers,
        json={
            "name": "Eleni",
            "email": "eleni@example.eu",
            "role": "member",
            "member_state": "EL",
            "region": "Attica",
        },
    )
    assert response.status_code == 201
    assert response.json()["member_state"] == "GR"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "secretariat"}, "needs an institution"),
        (
            {"role": "member", "institution": "jrc", "member_state": "BE", "region": "X"},
            "only secretariat",
        ),
        ({"role": "participant", "institution": "jrc"}, "only secretariat"),
        ({"role": "member", "member_state": "NO", "region": "Oslo"}, "not an EU member state"),
        ({"role": "member", "member_state": "BE"}, "needs member_state and region"),
        ({"role": "participant", "region": "Lazio"}, "only member accounts"),
        ({"role": "secretariat", "institution": "dg_grow"}, "institution"),
        ({"role": "king"}, "role"),
    ],
)
def test_account_fields_must_fit_the_role(client, admin, db, body, message):
    before = db.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    response = client.post(
        "/users", headers=admin.headers, json={"name": "N", "email": "n@example.eu", **body}
    )
    assert response.status_code == 422
    assert message in response.text
    assert db.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before


def test_name_with_a_newline_is_refused(client, admin):
    response = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Evil\nName", "email": "e@example.eu", "role": "participant"},
    )
    assert response.status_code == 422
    assert "single line" in response.text


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "x\\ud800", "email": "s@example.eu"}',
        '{"name": "ok", "email": "s\\ud800@example.eu"}',
        '{"name": "ok", "email": "s@example.eu", "extra": "\\udfff"}',
    ],
)
def test_lone_surrogates_are_422_not_500(client, db, body):
    count = audit_count(db)
    response = client.post("/signup", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert audit_count(db) == count


def test_signup_gives_a_participant_and_a_working_token(client, db):
    response = client.post("/signup", json={"name": "Pia", "email": "pia@example.eu"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["role"] == "participant"
    token = body["token"]["token"]
    assert len(token) >= 43  # 32 random bytes in URL-safe base64, behind the prefix
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "pia@example.eu"
    stored = db.scalars(select(ApiToken).where(ApiToken.user_id == body["user"]["id"])).one()
    assert token not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_signup_with_a_used_email_gets_409_and_writes_nothing(client, db, member):
    count = audit_count(db)
    response = client.post("/signup", json={"name": "Copy", "email": member.user.email.upper()})
    assert response.status_code == 409
    assert member.user.email in detail_of(response)
    assert audit_count(db) == count


def test_a_user_issues_a_token_for_themselves_but_not_for_others(client, member, participant):
    own = client.post(f"/users/{member.id}/tokens", headers=member.headers, json={"label": "cal"})
    assert own.status_code == 201
    assert own.json()["label"] == "cal"
    other = client.post(f"/users/{participant.id}/tokens", headers=member.headers)
    assert other.status_code == 403


def test_admin_issues_a_token_for_anyone(client, admin, participant):
    response = client.post(f"/users/{participant.id}/tokens", headers=admin.headers)
    assert response.status_code == 201
    token = response.json()["token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_for_unknown_user_is_404(client, admin):
    assert client.post("/users/999999/tokens", headers=admin.headers).status_code == 404


def test_revoked_token_stops_working(client, member):
    second = client.post(f"/users/{member.id}/tokens", headers=member.headers).json()
    headers = {"Authorization": f"Bearer {second['token']}"}
    assert client.get("/me", headers=headers).status_code == 200
    revoked = client.delete(f"/users/{member.id}/tokens/{second['id']}", headers=member.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/me", headers=headers).status_code == 401
    assert client.get("/me", headers=member.headers).status_code == 200


def test_token_list_shows_last_use_and_no_secrets(client, member, clock):
    client.get("/me", headers=member.headers)
    listed = client.get(f"/users/{member.id}/tokens", headers=member.headers)
    assert listed.status_code == 200
    [token] = listed.json()["items"]
    assert "token" not in token
    assert token["last_used_at"] == "2026-11-25T09:00:00Z"
    clock.advance(hours=1)
    client.get("/me", headers=member.headers)
    [token] = client.get(f"/users/{member.id}/tokens", headers=member.headers).json()["items"]
    assert token["last_used_at"] == "2026-11-25T10:00:00Z"


def test_account_creation_and_tokens_are_audited(client, admin, db):
    created = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Ola", "email": "ola@example.eu", "role": "participant"},
    ).json()
    client.post(f"/users/{created['id']}/tokens", headers=admin.headers)
    entries = client.get(
        "/audit",
        headers=admin.headers,
        params={"entity_type": "user", "entity_id": created["id"]},
    ).json()["items"]
    assert [entry["action"] for entry in entries] == ["token.issued", "user.created"]
    assert all(entry["actor_id"] == admin.id for entry in entries)
    assert {entry["at"] for entry in entries} == {"2026-11-25T09:00:00Z"}  # the service's clock
    assert created["created_at"] == "2026-11-25T09:00:00Z"
    assert entries[1]["after"]["email"] == "ola@example.eu"
    assert "kep_" not in str(entries)  # the secret never reaches the trail


def test_admins_find_accounts_by_words_and_role(client, admin, make_account):
    make_account("member", "Jean Dupont", member_state="FR", region="Occitanie")
    make_account("participant", "Jeanne d'Arc")
    make_account("participant", "Zoë Zimmer")
    found = client.get("/users", headers=admin.headers, params={"q": "JEAN"}).json()
    assert [user["name"] for user in found["items"]] == ["Jean Dupont", "Jeanne d'Arc"]
    assert found["total"] == 2
    participants = client.get(
        "/users", headers=admin.headers, params={"q": "jean", "role": "participant"}
    ).json()
    assert [user["name"] for user in participants["items"]] == ["Jeanne d'Arc"]
    by_mail = client.get("/users", headers=admin.headers, params={"q": "example.eu"}).json()
    assert by_mail["total"] >= 4
    page = client.get("/users", headers=admin.headers, params={"limit": 1, "offset": 1}).json()
    assert (len(page["items"]), page["limit"], page["offset"]) == (1, 1, 1)
    assert client.get("/users", headers=admin.headers, params={"role": "king"}).status_code == 422


@pytest.mark.parametrize("who", ["secretariat", "member", "participant"])
def test_only_admins_find_accounts(client, make_account, who):
    response = client.get("/users", headers=make_account(who).headers)
    assert response.status_code == 403
    assert f"This needs the role admin; you are {who}" == detail_of(response)
    assert client.get("/users").status_code == 401


def test_another_account_says_what_reading_it_needs(client, member, participant):
    response = client.get(f"/users/{participant.id}", headers=member.headers)
    assert response.status_code == 403
    assert detail_of(response) == (
        f"This needs the role admin, or to be the owner of account {participant.id}; "
        f"you are account {member.id}, member"
    )
