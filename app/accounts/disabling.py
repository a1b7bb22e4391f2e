"""Disabling an account, and enabling it again (admins).

Revoking an account's tokens does not lock its owner out: anyone may have a recovery
link mailed, and opening it gives a new token. A disabled account has no way in: its
tokens are revoked, its unopened links and personal feeds stop working, the mail that
waits for it is withdrawn, and until an admin enables it no token, link or mail is
made for it (``app.auth.deps``, ``app.accounts.service``, ``app.notifications.outbox``).
Its places at events not yet begun go to the waitlists, since its owner can neither
come nor give them up; everything else it made stays as it is: its events, proposals,
supports and its registrations for events under way or over.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.accounts import service as users
from app.audit import service as audit
from app.errors import Conflict, Unauthorized
from app.events import registrations
from app.models import ApiToken, MessageStatus, OutboxMessage, PersonalFeed, User

# Why its mail is not sent: here as the mail waiting is withdrawn, and by the sender,
# which asks as it sends.
REASON = "the account is disabled"


def disable(
    *, session: Session, actor: User, user: User, reason: str | None, now: datetime
) -> User:
    """Close every way into ``user``'s account; a disabled account is answered as it
    stands. No admin disables their own account, nor another's once their own is
    disabled: another admin must be left who can enable it."""
    if actor.id == user.id:
        raise Conflict(
            "You cannot disable your own account; another admin can, so that an admin is "
            "always left to enable it again"
        )
    # Both accounts' rows, in the order of their ids, read again as locked: two admins
    # disabling each other at once were both let in, and would leave no admin to enable
    # either.
    session.scalars(
        select(User)
        .where(User.id.in_((actor.id, user.id)))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if actor.disabled_at is not None:
        raise Unauthorized("Your account was disabled while this request ran")
    if user.disabled_at is not None:
        return user
    user.disabled_at = now
    counts = {
        "tokens_revoked": _end(
            session, ApiToken.user_id, user, ApiToken.revoked_at.is_(None), revoked_at=now
        ),
        "links_withdrawn": len(users.withdraw_links(session, user, now)),
        "registrations_cancelled": registrations.cancel_upcoming(
            session=session, actor=actor, user=user, now=now
        ),
        "feeds_revoked": _end(
            session, PersonalFeed.user_id, user, PersonalFeed.revoked_at.is_(None), revoked_at=now
        ),
        "mails_withdrawn": _end(
            session,
            OutboxMessage.user_id,
            user,
            OutboxMessage.status == MessageStatus.pending,
            status=MessageStatus.withdrawn,
            last_error=f"No longer holds: {REASON}",
            claimed_by=None,
            claimed_until=None,
        ),
    }
    audit.record(
        session=session,
        actor=actor,
        action="user.disabled",
        entity_type="user",
        entity_id=user.id,
        before={"disabled_at": None},
        after={"disabled_at": now, "reason": reason, **counts},
        at=now,
    )
    return user


def disabled_among(session: Session, user_ids: set[int]) -> set[int]:
    """Of these accounts, the disabled ones: for the sender, which asks as it sends, since
    a message it had claimed, or one an admin retried, was not withdrawn with the rest."""
    if not user_ids:
        return set()
    found = session.scalars(
        select(User.id).where(User.id.in_(sorted(user_ids)), User.disabled_at.is_not(None))
    )
    return set(found)


def _end(
    session: Session,
    owner: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    user: User,
    *in_use: ColumnElement[bool],
    **values: object,
) -> int:
    """Set ``values`` on every row of the account (``owner`` is the column naming it)
    still ``in_use``; how many there were."""
    statement = update(owner.class_).where(owner == user.id, *in_use).values(**values)
    done: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return done.rowcount


def enable(*, session: Session, actor: User, user: User, now: datetime) -> User:
    """Let the account be used again. Its tokens stay revoked: its owner gets a new one
    through token recovery, or through a new link an admin has mailed to them."""
    session.refresh(user, with_for_update=True)
    if user.disabled_at is None:
        return user
    before = user.disabled_at
    user.disabled_at = None
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.enabled",
        entity_type="user",
        entity_id=user.id,
        before={"disabled_at": before},
        after={"disabled_at": None},
        at=now,
    )
    return user
