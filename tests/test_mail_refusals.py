"""What the mail server refuses. A refusal for good (a 5xx reply: no such mailbox, a
policy that rejects the message) is the same at every attempt, so the message fails at
once, for an admin to see in the outbox; a refusal for now (4xx: try later) is tried
again with the usual waits. Either way the other messages of the round go."""

import pytest
from sqlalchemy import select

from app.models import MessageStatus, OutboxMessage
from tests.helpers.events import published_event


def confirmation_of(db, account) -> OutboxMessage:
    db.expire_all()
    return db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.user_id == account.id, OutboxMessage.kind == "registration_confirmed"
        )
    ).one()


@pytest.mark.parametrize(
    ("reply", "status", "attempts_left"),
    [
        ("550 5.1.1 No such user here", MessageStatus.failed, False),
        ("553 5.1.3 Mailbox name not allowed", MessageStatus.failed, False),
        ("451 4.3.0 Try again later", MessageStatus.pending, True),
        ("452 4.2.2 Mailbox full", MessageStatus.pending, True),
    ],
)
def test_a_refusal_for_good_fails_the_message_at_once_one_for_now_is_tried_again(
    client, dg_rtd, participant, member, db, smtp, sender, clock, reply, status, attempts_left
):
    event = published_event(client, dg_rtd.headers)
    for account in (participant, member):
        answer = client.post(f"/events/{event['id']}/registrations", headers=account.headers)
        assert answer.status_code == 201, answer.text
    smtp.refuse(participant.user.email, reply)

    sender.run_once()
    refused = confirmation_of(db, participant)
    assert (refused.status, refused.attempts) == (status, 1)
    assert reply.split()[0] in (refused.last_error or "")
    assert (refused.next_attempt_at > clock()) is attempts_left
    assert confirmation_of(db, member).status == MessageStatus.sent  # the round went on
    assert [m.recipients for m in smtp.received] == [[member.user.email]]

    clock.advance(days=3)
    sender.run_once()  # only a message left pending is tried again
    assert confirmation_of(db, participant).attempts == (2 if attempts_left else 1)


@pytest.mark.parametrize(
    "reply", ["530 5.7.0 Authentication required", "553 5.7.1 Sender address rejected"]
)
def test_a_refused_sender_address_fails_no_message_for_good(
    client, dg_rtd, participant, db, smtp, sender, clock, reply
):
    """The server refusing the From address (the service's own, KEP_MAIL_FROM) says
    nothing of the message: it is the same for every message, until the settings or the
    server are put right, so every message is tried again."""
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    smtp.refuse_sender(reply)

    sender.run_once()
    refused = confirmation_of(db, participant)
    assert (refused.status, refused.attempts) == (MessageStatus.pending, 1)
    assert reply.split()[0] in (refused.last_error or "")

    smtp.refuse_sender(None)  # put right
    clock.advance(days=1)
    sender.run_once()
    assert confirmation_of(db, participant).status == MessageStatus.sent
    assert [m.recipients for m in smtp.received] == [[participant.user.email]]
