"""Response bodies of the mail preferences and the outbox."""

from app.models import MessageStatus, OutboxMessage
from app.notifications.kinds import ALL_KINDS, KINDS
from app.notifications.schemas import NotificationChoices, OutboxRead, Unsubscription


def choices(chosen: dict[str, bool]) -> NotificationChoices:
    return NotificationChoices(
        **chosen, always_sent=[kind.name for kind in ALL_KINDS if not kind.optional]
    )


def unsubscription(kind: str, enabled: bool) -> Unsubscription:
    detail = (
        f"You receive these mails; POST to this address to stop them ({kind} only)."
        if enabled
        else f"You no longer receive these mails ({kind}); turn them on again at "
        "PATCH /me/notifications."
    )
    return Unsubscription(
        kind=kind, description=KINDS[kind].description, enabled=enabled, detail=detail
    )


def outbox_read(message: OutboxMessage) -> OutboxRead:
    return OutboxRead(
        id=message.id,
        kind=message.kind,
        recipient=message.recipient,
        recipient_name=message.recipient_name,
        subject=message.subject,
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        calendar_method=message.calendar_method,  # type: ignore[arg-type]
        created_at=message.created_at,
        next_attempt_at=message.next_attempt_at
        if message.status == MessageStatus.pending
        else None,
        sent_at=message.sent_at,
    )
