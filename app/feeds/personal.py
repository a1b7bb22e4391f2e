"""Personal feeds: a secret address per feed, stored only as a hash, revocable.

The token is shown once, in the address answered when the feed is made. It never
reaches the audit trail, a log line or an error message: the trail names the feed by
its id, and an unknown token and a revoked one get the very same 404.
"""

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.tokens import hash_token, same_hash
from app.common.paging import Paged, PageRequest, fetch_page
from app.errors import NotFound
from app.models import PersonalFeed, User

# 24 random bytes: 192 bits, written as 32 URL-safe characters.
TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
UNKNOWN = "No calendar feed at this address; it may have been revoked"
# Calendar apps poll every hour or so; the time of the last fetch is kept to the minute.
FETCH_RESOLUTION = timedelta(minutes=1)


def new_feed_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_feed(
    *, session: Session, user: User, label: str, now: datetime
) -> tuple[PersonalFeed, str]:
    """A new personal feed; its token is returned this once and never stored."""
    token = new_feed_token()
    feed = PersonalFeed(user_id=user.id, token_hash=hash_token(token), label=label, created_at=now)
    session.add(feed)
    session.flush()
    audit.record(
        session=session,
        actor=user,
        action="personal_feed.created",
        entity_type="user",
        entity_id=user.id,
        after={"feed_id": feed.id, "label": label},
        at=now,
    )
    return feed, token


def list_feeds(*, session: Session, user: User, page: PageRequest) -> Paged[PersonalFeed]:
    query = select(PersonalFeed).where(PersonalFeed.user_id == user.id).order_by(PersonalFeed.id)
    return fetch_page(session, query, page)


def revoke_feed(*, session: Session, user: User, feed_id: int, now: datetime) -> PersonalFeed:
    """Revoke one of the caller's feeds: its address answers 404 from now on. Revoking
    twice changes nothing."""
    feed = session.get(PersonalFeed, feed_id)
    if feed is None or feed.user_id != user.id:
        raise NotFound(f"You have no calendar feed with id {feed_id}")
    if feed.revoked_at is None:
        feed.revoked_at = now
        audit.record(
            session=session,
            actor=user,
            action="personal_feed.revoked",
            entity_type="user",
            entity_id=user.id,
            before={"feed_id": feed.id, "revoked_at": None},
            after={"feed_id": feed.id, "revoked_at": now},
            at=now,
        )
    return feed


def feed_by_token(*, session: Session, token: str, now: datetime) -> PersonalFeed:
    """The live feed behind a token, its fetch recorded; the same 404 for a token that
    never existed, one that was revoked, and one that is not even shaped like one."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise NotFound(UNKNOWN)
    digest = hash_token(token)
    feed = session.scalars(
        select(PersonalFeed)
        .join(PersonalFeed.user)
        .where(
            PersonalFeed.token_hash == digest,
            PersonalFeed.revoked_at.is_(None),
            User.disabled_at.is_(None),  # revoked with the account too: this holds regardless
        )
    ).one_or_none()
    if feed is None or not same_hash(feed.token_hash, digest):
        raise NotFound(UNKNOWN)
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_RESOLUTION:
        _record_fetch(session, feed, now)
    return feed


def _record_fetch(session: Session, feed: PersonalFeed, now: datetime) -> None:
    # Skipped when another poll holds the row: polls never queue for a timestamp.
    free = session.scalars(
        select(PersonalFeed.id).where(PersonalFeed.id == feed.id).with_for_update(skip_locked=True)
    ).one_or_none()
    if free is not None:
        feed.last_fetched_at = now
