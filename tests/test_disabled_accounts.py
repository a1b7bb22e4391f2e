"""An admin disables an account that must no longer be used (its owner left, or it is
being abused): every way in closes at once, and stays closed until an admin enables it.
Revoking tokens alone does not do that: the owner can recover a token by mail."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update

from app.accounts import disabling
from app.errors import Unauthorized
from app.models import (
    ApiToken,
    AuditEntry,
    Invitation,
    MessageStatus,
    OutboxMessage,
    PersonalFeed,
    Role,
    User,
)
from app.notifications import preferences
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, published_event
from tests.helpers.pages import BROWSER

REASON = {"reason": "Left the institution on 30 November"}


def disable(client, admin, account_id: int, body: dict | None = REASON):
    return client.post(f"/users/{account_id}/disable", headers=admin.headers, json=body)


def links_of(db, user_id: int) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).where(Invitation.user_id == user_id)) or 0


def mails_to(db, user_id: int, status: MessageStatus | None = None) -> list[OutboxMessage]:
    db.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.user_id == user_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(db.scalars(query.order_by(OutboxMessage.id)))


def test_a_disabled_account_has_no_way_in(client, admin, member, db):
    feed = client.post("/me/feeds", headers=member.headers).json()["url"]
    assert client.get(feed).status_code == 200
    pending = client.post("/token-recovery", json={"email": member.user.email})
    assert pending.status_code == 202
    [recovery] = [m for m in mails_to(db, member.id) if m.kind == "token_recovery"]
    entries = audit_count(db)

    done = disable(client, admin, member.id)
    assert done.status_code == 200, done.text
    assert done.json()["disabled_at"] == "2026-11-25T09:00:00Z"
    assert client.get(f"/users/{member.id}", headers=admin.headers).json()["disabled_at"]

    refused = client.get("/me", headers=member.headers)
    assert refused.status_code == 401
    assert client.get(feed).status_code == 404
    assert client.post(recovery.secret).status_code == 409  # a link mailed before
    assert "disabled" in client.post(recovery.secret).json()["detail"]
    links = links_of(db, member.id)
    for asked in (
        client.post("/token-recovery", json={"email": member.user.email}),
        client.post("/signup", json={"name": "M", "email": member.user.email}),
    ):
        assert asked.status_code == 202  # the same answer as for any address
    assert links_of(db, member.id) == links
    again = client.post(f"/users/{member.id}/invitation", headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["detail"] == f"User {member.id} is disabled; enable the account first"
    taken = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "M", "email": member.user.email, "role": "participant"},
    )
    assert taken.status_code == 409

    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.id > entries, AuditEntry.action == "user.disabled")
    ).all()
    assert entry.actor_id == admin.id and entry.entity_id == member.id
    assert entry.after["reason"] == REASON["reason"]
    assert entry.after["tokens_revoked"] == 1 and entry.after["links_withdrawn"] == 1
    tokens = client.get(f"/users/{member.id}/tokens", headers=admin.headers).json()["items"]
    assert all(token["revoked_at"] for token in tokens)


def test_no_mail_goes_to_a_disabled_account(client, admin, dg_rtd, member, participant, db):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    [confirmation] = mails_to(db, participant.id, MessageStatus.pending)

    assert disable(client, admin, participant.id).status_code == 200
    db.expire_all()
    withdrawn = db.get(OutboxMessage, confirmation.id)
    assert withdrawn.status == MessageStatus.withdrawn
    assert withdrawn.last_error == "No longer holds: the account is disabled"

    moved = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"starts_at": "2027-03-10T10:30", "ends_at": "2027-03-10T17:00"},
    )
    assert moved.status_code == 200, moved.text
    assert [m.kind for m in mails_to(db, participant.id)] == ["registration_confirmed"]

    # A member's own event: the mail that it is submitted waits, then is withdrawn; the
    # one that it is published is never written.
    own = create_event(client, member.headers, kind="peer_to_peer")
    [submitted] = mails_to(db, member.id, MessageStatus.pending)
    assert submitted.kind == "own_event"
    assert disable(client, admin, member.id).status_code == 200
    published = client.post(f"/events/{own['id']}/publish", headers=dg_rtd.headers)
    assert published.status_code == 200, published.text
    assert [m.status for m in mails_to(db, member.id)] == [MessageStatus.withdrawn]


def test_only_another_admin_disables_and_enables(client, admin, make_account, member, dg_rtd, db):
    for who in (member, dg_rtd):
        answer = disable(client, who, member.id)
        assert answer.status_code in (403, 404), answer.text
        assert client.post(f"/users/{member.id}/enable", headers=who.headers).status_code in (
            403,
            404,
        )
    own = disable(client, admin, admin.id)
    assert own.status_code == 409
    assert "another admin" in own.json()["detail"]
    assert disable(client, admin, 424242).status_code == 404
    assert disable(client, admin, member.id, {"reason": "x" * 501}).status_code == 422
    assert disable(client, admin, member.id, {"reason": "a\nb"}).status_code == 422
    assert client.get("/me", headers=member.headers).status_code == 200  # nothing changed

    entries = audit_count(db)
    first = disable(client, admin, member.id, None)  # a reason is not required
    assert first.status_code == 200
    twice = disable(client, admin, member.id)
    assert twice.status_code == 200 and twice.json() == first.json()  # as it stands
    assert audit_count(db) == entries + 1


def test_an_enabled_account_comes_back_through_a_new_link_to_its_owner(
    client, admin, participant, db
):
    disable(client, admin, participant.id)
    entries = audit_count(db)
    enabled = client.post(f"/users/{participant.id}/enable", headers=admin.headers)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled_at"] is None
    assert audit_count(db) == entries + 1
    assert client.get("/me", headers=participant.headers).status_code == 401  # still revoked

    again = client.post(f"/users/{participant.id}/invitation", headers=admin.headers)
    assert again.status_code == 201, again.text
    assert again.json()["url"] is None  # the owner's alone
    [link] = [m.secret for m in mails_to(db, participant.id) if m.kind == "invitation"][-1:]
    opened = client.post(link)
    assert opened.status_code == 201, opened.text
    token = opened.json()["token"]["token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["disabled_at"] is None
    unchanged = client.post(f"/users/{participant.id}/enable", headers=admin.headers)
    # Besides the enabling: the link, its token, its opening; enabling again adds none.
    assert unchanged.status_code == 200 and audit_count(db) == entries + 4


def test_a_token_or_feed_made_as_the_account_was_disabled_does_not_work(client, admin, member, db):
    """A token issued, or a feed made, by a request that committed just after the
    disabling read the account's rows is not among those revoked: the lookups ask
    whether the account is disabled themselves."""
    feed = client.post("/me/feeds", headers=member.headers).json()["url"]
    assert disable(client, admin, member.id).status_code == 200
    db.execute(update(ApiToken).where(ApiToken.user_id == member.id).values(revoked_at=None))
    db.execute(
        update(PersonalFeed).where(PersonalFeed.user_id == member.id).values(revoked_at=None)
    )
    db.commit()
    assert client.get("/me", headers=member.headers).status_code == 401
    assert client.get(feed).status_code == 404


def test_a_disabled_accounts_mail_is_neither_retried_nor_sent(
    client, admin, dg_rtd, participant, member, db, smtp, sender
):
    """An admin cannot retry its failed mail, and the sender asks itself, as it sends:
    a message it had claimed as the account was disabled does not go out."""
    event = published_event(client, dg_rtd.headers)
    for account in (participant, member):
        client.post(f"/events/{event['id']}/registrations", headers=account.headers)
    smtp.refuse(participant.user.email, "550 5.1.1 No such user here")
    sender.run_once()
    [failed] = mails_to(db, participant.id, MessageStatus.failed)
    smtp.handler.refused.clear()

    assert disable(client, admin, participant.id).status_code == 200
    retried = client.post(f"/outbox/{failed.id}/retry", headers=admin.headers)
    assert retried.status_code == 409, retried.text
    assert retried.json()["detail"] == (
        f"Message {failed.id} is for a disabled account (user {participant.id}); "
        "enable the account first"
    )
    # As if a sender had it claimed, and pending, as the account was disabled.
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == failed.id)
        .values(status=MessageStatus.pending, next_attempt_at=failed.created_at)
    )
    db.commit()
    sender.run_once()
    assert smtp.to(participant.user.email) == []
    db.expire_all()
    withdrawn = db.get(OutboxMessage, failed.id)
    assert withdrawn.status == MessageStatus.withdrawn
    assert withdrawn.last_error == "No longer holds: the account is disabled"
    assert smtp.to(member.user.email)  # the round went on


def test_a_disabled_accounts_mail_links_open_nothing(client, admin, member, db):
    """The links at the foot of the mail it was sent before: its choices and its
    unsubscribe links are links of the account, and open nothing while it is disabled."""
    choices = f"/notifications/choices/{preferences.choices_code(db, member.id)}"
    code = preferences.unsubscribe_code(db, member.id, "call_for_topics")
    unsubscribe = f"/notifications/unsubscribe/{code}"
    assert client.get(choices, headers=BROWSER).status_code == 200
    assert disable(client, admin, member.id).status_code == 200
    entries = audit_count(db)

    assert client.get(choices, headers=BROWSER).status_code == 404
    saved = client.post(
        choices,
        headers={**BROWSER, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"form=choices",
    )
    assert saved.status_code == 404
    for answer in (client.get(unsubscribe), client.post(unsubscribe)):
        assert answer.status_code == 404
    assert client.post(unsubscribe, headers=BROWSER).status_code == 404
    assert audit_count(db) == entries  # no choice changed


def test_two_admins_disabling_each_other_leave_one_to_enable_the_other(
    client, admin, make_account, db, clock
):
    """The request that commits second was let in before the first one disabled its
    admin (on PostgreSQL, requests run side by side): it disables no one, or no admin
    would be left to enable either account."""
    other = make_account(Role.admin, "Otto Operator")
    assert disable(client, admin, other.id).status_code == 200
    db.expire_all()
    # What the other admin's request, let in just before, goes on to do:
    actor, target = db.get(User, other.id), db.get(User, admin.id)
    with pytest.raises(Unauthorized):
        disabling.disable(session=db, actor=actor, user=target, reason=None, now=clock())
    db.rollback()
    assert client.get("/me", headers=admin.headers).status_code == 200


PAIRS = 12


def test_two_admins_disabling_each_other_at_once_leave_one_to_enable_the_other(
    race_client, race_account, race_app
):
    """Real requests at the same moment, on their own connections: on PostgreSQL each
    disabling would read the other admin as enabled, unless it waits for the other's
    lock on the two accounts."""
    _base, client = race_client
    pairs = [(race_account("admin"), race_account("admin")) for _ in range(PAIRS)]
    start = threading.Barrier(2 * PAIRS)

    def attempt(index: int) -> int:
        first, second = pairs[index // 2]
        actor, target = (first, second) if index % 2 else (second, first)
        start.wait()
        return client.post(f"/users/{target.id}/disable", headers=actor.headers).status_code

    with ThreadPoolExecutor(max_workers=2 * PAIRS) as pool:
        answers = list(pool.map(attempt, range(2 * PAIRS)))
    assert set(answers) <= {200, 401}, answers
    with race_app.state.sessionmaker() as session:
        for first, second in pairs:
            rows = session.scalars(
                select(User.disabled_at).where(User.id.in_((first.id, second.id)))
            )
            assert None in set(rows), "both admins of a pair were disabled"
    for index in range(PAIRS):
        assert sorted(answers[2 * index : 2 * index + 2]) == [200, 401]


def test_a_disabled_accounts_places_go_to_the_waitlist(
    client, admin, dg_rtd, participant, make_account, db, clock
):
    """Its owner can no longer come, nor give the places up: they go to the next on the
    waitlist, as if given up, while the event has not begun. Its registrations for
    events under way or over stay as they were."""
    waiting = make_account("participant", "Wanda Waiting")
    full = published_event(client, dg_rtd.headers, capacity=1)
    begun = published_event(
        client, dg_rtd.headers, starts_at="2026-11-25T08:00", ends_at="2026-11-25T18:00"
    )
    clock.advance(hours=-3)  # registered for the event under way before it began
    for event in (full, begun):
        client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    clock.advance(hours=3)
    waitlisted = client.post(f"/events/{full['id']}/registrations", headers=waiting.headers)
    assert waitlisted.json()["status"] == "waitlisted"

    assert disable(client, admin, participant.id).status_code == 200
    places = client.get(f"/events/{full['id']}/registrations", headers=dg_rtd.headers).json()
    assert [(r["user"]["id"], r["status"]) for r in places["items"]] == [(waiting.id, "registered")]
    under_way = client.get(f"/events/{begun['id']}/registrations", headers=dg_rtd.headers)
    assert [r["status"] for r in under_way.json()["items"]] == ["registered"]
    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "registration.cancelled")
    ).all()
    assert entry.actor_id == admin.id  # the admin's doing, not the owner's
    assert (
        db.scalars(select(AuditEntry).where(AuditEntry.action == "user.disabled"))
        .one()
        .after["registrations_cancelled"]
        == 1
    )
    promoted = mails_to(db, waiting.id, MessageStatus.pending)
    assert [m.kind for m in promoted] == ["registration_waitlisted", "registration_promoted"]
    assert [m.kind for m in mails_to(db, participant.id, MessageStatus.pending)] == []
