"""Tokens go only to their owners: an account an admin creates comes with a one-time
invitation link that its owner opens to receive the first token; sign-up and account
reads tell strangers nothing about which accounts exist."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from app.auth.tokens import hash_token
from app.models import ApiToken, Invitation, OutboxMessage, User
from tests.helpers.accounts import PARTICIPANT, invite
from tests.helpers.database import audit_count


def secret_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_an_account_an_admin_creates_comes_with_a_one_time_link_and_no_token(client, admin, db):
    created = invite(client, admin)
    url = created["invitation"]["url"]
    assert url.startswith("http://127.0.0.1:8000/invitations/")
    assert created["invitation"]["expires_at"] == "2026-11-28T09:00:00Z"  # 72 hours
    assert "token" not in created and "token" not in created["invitation"]
    user_id = created["user"]["id"]
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).all() == []
    [stored] = db.scalars(select(Invitation).where(Invitation.user_id == user_id)).all()
    assert stored.token_hash == hash_token(secret_of(url))  # only the hash is kept
    assert secret_of(url) not in stored.token_hash


def test_the_owner_opens_the_link_once_and_receives_the_first_token(client, admin):
    created = invite(client, admin)
    url = created["invitation"]["url"]
    preview = client.get(url)
    assert preview.status_code == 200
    assert preview.json()["user"] == {"id": created["user"]["id"], "name": "Olga Owner"}
    opened = client.post(url, json={"label": "laptop"})
    assert opened.status_code == 201, opened.text
    token = opened.json()["token"]
    assert token["label"] == "laptop"
    me = client.get("/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert me.json()["email"] == "olga@example.eu"
    again = client.post(url)
    assert again.status_code == 409
    assert "already opened" in again.json()["detail"]
    assert client.get(url).status_code == 409


def test_an_invitation_expires(client, admin, clock):
    url = invite(client, admin)["invitation"]["url"]
    clock.advance(hours=72, seconds=1)
    response = client.post(url)
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


def test_an_unknown_link_is_404(client):
    assert client.post("/invitations/not-a-real-secret").status_code == 404
    assert client.get("/invitations/not-a-real-secret").status_code == 404


def test_an_admin_sends_a_new_link_and_the_earlier_one_stops_working(client, admin):
    created = invite(client, admin)
    user_id = created["user"]["id"]
    renewed = client.post(f"/users/{user_id}/invitation", headers=admin.headers)
    assert renewed.status_code == 201, renewed.text
    old = client.post(created["invitation"]["url"])
    assert old.status_code == 409
    assert "newer link" in old.json()["detail"]
    assert client.post(renewed.json()["url"]).status_code == 201


def test_no_new_link_for_an_account_with_a_working_token(client, admin, member, db):
    count = audit_count(db)
    response = client.post(f"/users/{member.id}/invitation", headers=admin.headers)
    assert response.status_code == 409
    assert "revoke" in response.json()["detail"]
    assert audit_count(db) == count


def test_only_admins_send_links(client, member, participant):
    own = client.post(f"/users/{member.id}/invitation", headers=member.headers)
    assert own.status_code == 403
    other = client.post(f"/users/{participant.id}/invitation", headers=member.headers)
    assert other.status_code == 404


def test_admins_revoke_tokens_but_never_issue_them_for_others(client, admin, participant, db):
    count = audit_count(db)
    minted = client.post(f"/users/{participant.id}/tokens", headers=admin.headers)
    assert minted.status_code == 403
    assert "only to their owner" in minted.json()["detail"]
    assert audit_count(db) == count
    [token] = client.get(f"/users/{participant.id}/tokens", headers=admin.headers).json()["items"]
    revoked = client.delete(f"/users/{participant.id}/tokens/{token['id']}", headers=admin.headers)
    assert revoked.status_code == 200
    assert client.get("/me", headers=participant.headers).status_code == 401


def test_two_openings_at_once_give_one_token(race_app, race_client, race_account):
    base_url, client = race_client
    admin = race_account("admin")
    created = client.post("/users", headers=admin.headers, json=PARTICIPANT).json()
    path = "/invitations/" + secret_of(created["invitation"]["url"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: httpx.post(base_url + path, timeout=30), range(8)))
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7, [
        answer.text for answer in answers
    ]
    tokens = client.get(f"/users/{created['user']['id']}/tokens", headers=admin.headers).json()[
        "items"
    ]
    assert len(tokens) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/{id}"),
        ("get", "/users/{id}/tokens"),
        ("post", "/users/{id}/tokens"),
        ("delete", "/users/{id}/tokens/1"),
    ],
)
def test_strangers_get_the_same_answer_for_existing_and_unknown_accounts(
    client, member, participant, method, path
):
    existing = client.request(method, path.format(id=participant.id), headers=member.headers)
    unknown = client.request(method, path.format(id=999_999), headers=member.headers)
    assert existing.status_code == unknown.status_code == 404
    assert existing.json()["detail"].replace(str(participant.id), "N") == unknown.json()[
        "detail"
    ].replace("999999", "N")


def test_sign_up_answers_the_same_whether_the_address_has_an_account(client, member, db):
    new = client.post("/signup", json={"name": "Pia", "email": "pia@example.eu"})
    count = audit_count(db)
    taken = client.post("/signup", json={"name": "Copy", "email": member.user.email.upper()})
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json()
    assert "link" in new.json()["detail"]
    assert audit_count(db) == count  # the existing account is left alone
    assert db.scalar(select(User.name).where(User.id == member.id)) == "Maria Member"


def test_sign_up_opens_a_participant_account_with_an_invitation(client, db):
    client.post("/signup", json={"name": "Pia", "email": "Pia@Example.eu"})
    user = db.scalars(select(User).where(User.email == "pia@example.eu")).one()
    assert user.role == "participant"
    [invitation] = db.scalars(select(Invitation).where(Invitation.user_id == user.id)).all()
    assert invitation.created_by_id is None and invitation.opened_at is None
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []


MARIA = {
    "name": "Maria Member",
    "email": "maria.norte@example.eu",
    "role": "member",
    "member_state": "PT",
    "region": "Norte",
}


def test_an_admin_makes_the_account_of_an_address_that_only_signed_up(client, admin, db):
    """Anyone may sign up with any address; until its owner opens the link, the account
    is nobody's, and an admin making the real account for that address takes it over
    rather than being refused."""
    client.post("/signup", json={"name": "Not Maria", "email": MARIA["email"]})
    signed_up = db.scalars(select(User).where(User.email == MARIA["email"])).one()
    created = invite(client, admin, **MARIA)
    assert created["user"]["id"] == signed_up.id
    assert {key: created["user"][key] for key in MARIA} == MARIA
    invitations = db.scalars(
        select(Invitation).where(Invitation.user_id == signed_up.id).order_by(Invitation.id)
    ).all()
    assert [(i.withdrawn_at is None, i.created_by_id) for i in invitations] == [
        (False, None),  # the sign-up's link no longer opens
        (True, admin.id),
    ]
    opened = client.post(created["invitation"]["url"], json={"label": "laptop"})
    token = opened.json()["token"]["token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["role"]) == ("Maria Member", "member")
    [entry] = [
        e
        for e in client.get("/audit", headers=admin.headers, params={"entity_type": "user"}).json()[
            "items"
        ]
        if e["action"] == "user.updated"
    ]
    assert entry["actor_id"] == admin.id and entry["entity_id"] == signed_up.id
    assert (entry["before"]["name"], entry["before"]["role"]) == ("Not Maria", "participant")
    assert (entry["after"]["name"], entry["after"]["role"]) == ("Maria Member", "member")


def test_an_address_whose_owner_holds_a_token_is_not_taken_over(client, admin, member, db):
    count = audit_count(db)
    again = client.post("/users", headers=admin.headers, json={**MARIA, "email": member.user.email})
    assert again.status_code == 409
    assert f"An account with the email {member.user.email} already exists" in again.text
    assert audit_count(db) == count
    assert db.get(User, member.id).name == "Maria Member"


def test_sign_ups_of_one_address_at_once_give_one_account_and_the_same_answer(
    race_app, race_client
):
    base_url, _client = race_client
    body = {"name": "Rae", "email": "rae@example.eu"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda _: httpx.post(f"{base_url}/signup", json=body, timeout=30), range(6))
        )
    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.text for answer in answers}) == 1
    with race_app.state.sessionmaker() as session:
        assert len(session.scalars(select(User).where(User.email == body["email"])).all()) == 1


PHISHING = "Your account is locked. Call +32 2 000 00 00 or visit evil.example.org now"


def test_a_link_mail_anyone_can_ask_for_carries_no_name_they_chose(client, db, member):
    """Anyone may sign up, or ask for a recovery link, with any address: the mails they
    cause go to that address from the service. Were the name given at sign-up written
    in them, a stranger could send the service's mail with words of their choosing."""
    signed = client.post("/signup", json={"name": PHISHING, "email": "victim@example.eu"})
    assert signed.status_code == 202
    client.post("/token-recovery", json={"email": "victim@example.eu"})
    client.post("/token-recovery", json={"email": member.user.email})
    db.expire_all()
    mails = db.scalars(
        select(OutboxMessage).where(OutboxMessage.kind.in_(("invitation", "token_recovery")))
    ).all()
    assert sorted(m.kind for m in mails) == ["invitation", "token_recovery", "token_recovery"]
    for mail in mails:
        assert mail.recipient_name == "", mail.kind
        assert mail.body.startswith("Hello,\n"), mail.body[:80]
        assert PHISHING not in mail.body and member.user.name not in mail.body
