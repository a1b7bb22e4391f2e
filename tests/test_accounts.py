"""Accounts, roles and API tokens."""

import pytest
from sqlalchemy import select

from app.auth.tokens import hash_token
from app.models import AuditEntry, Invitation, OutboxMessage, User
from tests.helpers.accounts import invite
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
    body = response.json()["user"]
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
    assert response.json()["user"]["member_state"] == "GR"


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


def test_a_user_issues_a_token_for_themselves(client, member):
    own = client.post(f"/users/{member.id}/tokens", headers=member.headers, json={"label": "cal"})
    assert own.status_code == 201
    assert own.json()["label"] == "cal"
    token = own.json()["token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_for_unknown_user_is_404(client, admin):
    assert client.get("/users/999999/tokens", headers=admin.headers).status_code == 404


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


def test_account_creation_and_token_revocation_are_audited_with_their_real_actor(client, admin, db):
    created = invite(client, admin, name="Ola", email="ola@example.eu")
    user_id = created["user"]["id"]
    opened = client.post(created["invitation"]["url"]).json()
    client.delete(f"/users/{user_id}/tokens/{opened['token']['id']}", headers=admin.headers)
    entries = client.get(
        "/audit", headers=admin.headers, params={"entity_type": "user", "entity_id": user_id}
    ).json()["items"]
    actions = [(entry["action"], entry["actor_id"]) for entry in reversed(entries)]
    assert actions == [
        ("user.created", admin.id),
        ("invitation.issued", admin.id),
        ("token.issued", user_id),
        ("invitation.opened", user_id),
        ("token.revoked", admin.id),
    ]
    assert {entry["at"] for entry in entries} == {"2026-11-25T09:00:00Z"}  # the service's clock
    assert created["user"]["created_at"] == "2026-11-25T09:00:00Z"
    assert entries[-1]["after"]["email"] == "ola@example.eu"
    secrets = (opened["token"]["token"], created["invitation"]["url"].rsplit("/", 1)[1])
    assert not any(secret in str(entries) for secret in secrets)  # never in the trail


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


def test_a_new_link_for_a_claimed_account_goes_to_its_owner_alone(client, admin, sedec, db):
    """An admin who revokes an owner's tokens and asks for a new link never sees the link:
    it is mailed to the owner, so that no admin can hold a token of someone else's account."""
    for token in client.get(f"/users/{sedec.id}/tokens", headers=admin.headers).json()["items"]:
        client.delete(f"/users/{sedec.id}/tokens/{token['id']}", headers=admin.headers)
    sent = client.post(f"/users/{sedec.id}/invitation", headers=admin.headers)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["url"] is None
    assert body["mailed_to"] == sedec.user.email
    db.expire_all()
    [invitation] = db.scalars(select(Invitation).where(Invitation.user_id == sedec.id)).all()
    [mail] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"invitation:{invitation.id}")
    ).all()
    assert (mail.user_id, mail.recipient, mail.kind) == (sedec.id, sedec.user.email, "invitation")
    assert mail.secret is not None
    secret = mail.secret.rsplit("/", 1)[1]
    assert invitation.token_hash == hash_token(secret)
    assert secret not in sent.text
    opened = client.post(mail.secret, json={"label": "own laptop"})  # the owner opens it
    assert opened.status_code == 201, opened.text
    assert opened.json()["user"]["id"] == sedec.id


def test_a_new_link_for_an_account_never_claimed_is_handed_to_the_admin(client, admin, db):
    created = invite(client, admin, name="Ola", email="ola@example.eu")
    assert created["invitation"]["mailed_to"] == "ola@example.eu"
    renewed = client.post(f"/users/{created['user']['id']}/invitation", headers=admin.headers)
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["mailed_to"] == "ola@example.eu"
    assert client.post(renewed.json()["url"]).status_code == 201


def test_a_recovery_request_leaves_the_invitation_an_admin_handed_out_working(client, admin, db):
    """Anyone may ask for token recovery with any address: doing so must not break the
    invitation link an admin gave the owner."""
    created = invite(client, admin)
    stranger = client.post("/token-recovery", json={"email": "olga@example.eu"})
    assert stranger.status_code == 202
    opened = client.post(created["invitation"]["url"], json={"label": "laptop"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["user"]["id"] == created["user"]["id"]


def test_once_the_owner_opens_a_recovery_link_the_admins_invitation_no_longer_opens(
    client, admin, db
):
    created = invite(client, admin)
    client.post("/token-recovery", json={"email": "olga@example.eu"})
    [mail] = db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.user_id == created["user"]["id"], OutboxMessage.kind == "token_recovery"
        )
    ).all()
    assert client.post(mail.secret).status_code == 201  # the owner claims the account
    late = client.post(created["invitation"]["url"])
    assert late.status_code == 409, "a link outside the owner's mailbox still opened"
    assert "another link" in late.json()["detail"]


def _usable_links(db, user_id, now):
    db.expire_all()
    return db.scalars(
        select(Invitation).where(
            Invitation.user_id == user_id,
            Invitation.opened_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > now,
        )
    ).all()


def test_signing_up_again_after_the_link_expired_mails_a_new_link(client, db, clock):
    body = {"name": "Pia", "email": "pia@example.eu"}
    first = client.post("/signup", json=body)
    user = db.scalars(select(User).where(User.email == "pia@example.eu")).one()
    clock.advance(hours=72, seconds=1)  # the first link expired
    assert _usable_links(db, user.id, clock()) == []
    again = client.post("/signup", json=body)
    assert again.status_code == 202
    assert again.json() == first.json()
    [link] = _usable_links(db, user.id, clock())
    [mail] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"invitation:{link.id}")
    ).all()
    assert mail.recipient == "pia@example.eu"
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.entity_id, entry.actor_id) == ("invitation.issued", user.id, None)
    opened = client.post(mail.secret, json={"label": "laptop"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["user"]["id"] == user.id


def test_signing_up_again_while_a_link_works_sends_nothing_new(client, admin, db, clock):
    client.post("/signup", json={"name": "Pia", "email": "pia@example.eu"})
    user = db.scalars(select(User).where(User.email == "pia@example.eu")).one()
    created = invite(client, admin)
    count = audit_count(db)
    clock.advance(hours=1)
    client.post("/signup", json={"name": "Pia", "email": "pia@example.eu"})
    client.post("/signup", json={"name": "Someone", "email": "olga@example.eu"})
    assert audit_count(db) == count
    assert len(_usable_links(db, user.id, clock())) == 1
    assert client.post(created["invitation"]["url"]).status_code == 201  # the admin's link


def test_token_recovery_is_recorded_with_no_actor(client, member, db):
    """Anyone may ask for a recovery link with any address: the trail must not say that
    the account's owner asked."""
    count = audit_count(db)
    assert client.post("/token-recovery", json={"email": member.user.email}).status_code == 202
    assert audit_count(db) == count + 1
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.entity_id) == ("invitation.issued", member.id)
    assert entry.after["purpose"] == "recovery"
    assert entry.actor_id is None
