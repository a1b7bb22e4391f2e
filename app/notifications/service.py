"""The outbox as the secretariat's operators see it: what is pending, sent or failed,
and a failed message sent again."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.common.paging import Paged, PageRequest, fetch_page
from app.errors import Conflict, NotFound
from app.models import MessageStatus, OutboxMessage, User


def list_messages(
    *, session: Session, status: MessageStatus | None, page: PageRequest
) -> Paged[OutboxMessage]:
    """Messages newest first, of one status or all."""
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return fetch_page(session, query.order_by(OutboxMessage.id.desc()), page)


def retry(*, session: Session, actor: User, message_id: int, now: datetime) -> OutboxMessage:
    """Put a failed message back to be sent at once, with a fresh count of attempts; a
    pending one is answered as it stands."""
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).one_or_none()
    if message is None:
        raise NotFound(f"No message with id {message_id} in the outbox")
    if message.status == MessageStatus.pending:
        return message
    if message.status == MessageStatus.sent:
        raise Conflict(f"Message {message.id} was sent on {message.sent_at:%Y-%m-%d %H:%M} UTC")
    if message.status == MessageStatus.withdrawn:
        raise Conflict(
            f"Message {message.id} was withdrawn, not sent ({message.last_error}); it is "
            "not sent again"
        )
    if message.user is not None and message.user.disabled_at is not None:
        raise Conflict(
            f"Message {message.id} is for a disabled account (user {message.user_id}); "
            "enable the account first"
        )
    if message.kind in ("invitation", "token_recovery"):
        raise Conflict(
            f"Message {message.id} carried a one-time link, which the outbox forgot when it "
            f"failed; send the owner a new one (POST /users/{message.user_id}/invitation)"
        )
    before = {"status": message.status, "attempts": message.attempts}
    message.status = MessageStatus.pending
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_by = None
    message.claimed_until = None
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="outbox.retried",
        entity_type="outbox",
        entity_id=message.id,
        before=before,
        after={"status": message.status, "attempts": message.attempts},
    )
    return message
