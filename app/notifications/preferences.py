"""Which optional mails each person receives; the one-click unsubscribe links that turn
one kind off without logging in (RFC 8058); and the link at the foot of every optional
mail to a page where its reader chooses them all."""

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.common.numbers import whole_number
from app.common.paging import among
from app.errors import NotFound
from app.models import MailKey, NotificationSetting, User
from app.notifications.kinds import OPTIONAL_KINDS

UNSUBSCRIBE_KEY = "unsubscribe"
KEY_IN_SESSION = "kep_unsubscribe_key"


def choices(*, session: Session, user: User) -> dict[str, bool]:
    """Every optional kind, on or off for ``user``; a kind never chosen is on."""
    rows = session.execute(
        select(NotificationSetting.kind, NotificationSetting.enabled).where(
            NotificationSetting.user_id == user.id
        )
    )
    chosen: dict[str, bool] = {row[0]: row[1] for row in rows}
    return {kind: chosen.get(kind, True) for kind in OPTIONAL_KINDS}


def turned_off(session: Session, wanted: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Of pairs of a person and an optional kind, those the person turned off: in one
    statement, for all the messages of a change (every member, for a call for topics),
    or of a round of the sender's."""
    if not wanted:
        return set()
    people = sorted({user_id for user_id, _kind in wanted})
    rows = session.execute(
        select(NotificationSetting.user_id, NotificationSetting.kind).where(
            among(session.get_bind().dialect.name, NotificationSetting.user_id, people),
            NotificationSetting.enabled.is_(False),
        )
    )
    return {(user_id, kind) for user_id, kind in rows} & wanted


def choose(*, session: Session, user: User, changes: dict[str, bool], now: datetime) -> None:
    """Turn optional kinds on or off, in the trail as the person's own change; a choice
    that stands already changes nothing."""
    current = choices(session=session, user=user)
    changed = {kind: enabled for kind, enabled in changes.items() if current[kind] != enabled}
    if not changed:
        return
    for kind, enabled in changed.items():
        setting = session.get(NotificationSetting, (user.id, kind))
        if setting is None:
            session.add(
                NotificationSetting(user_id=user.id, kind=kind, enabled=enabled, updated_at=now)
            )
        else:
            setting.enabled = enabled
            setting.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=user,
        action="user.notifications_changed",
        entity_type="user",
        entity_id=user.id,
        before={"notifications": {kind: current[kind] for kind in changed}},
        after={"notifications": changed},
    )


# -- one-click unsubscribe -------------------------------------------------------------


def _key(session: Session) -> bytes:
    """The signing key, read once per session: one change may mail many people."""
    key: bytes | None = session.info.get(KEY_IN_SESSION)
    if key is None:
        secret = session.scalar(select(MailKey.secret).where(MailKey.name == UNSUBSCRIBE_KEY))
        if secret is None:  # made by the migration that made the table
            raise RuntimeError("the mail_keys table has no unsubscribe key; run the migrations")
        key = session.info[KEY_IN_SESSION] = secret.encode()
    return key


def _signature(key: bytes, user_id: int, kind: str) -> str:
    return hmac.new(key, f"{user_id}:{kind}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_code(session: Session, user_id: int, kind: str) -> str:
    """The secret part of a link that turns ``kind`` off for the user: who and what,
    signed with the service's key, so that nobody can make one for another person."""
    return f"{user_id}-{kind}-{_signature(_key(session), user_id, kind)}"


def unsubscribe_url(base_url: str, code: str) -> str:
    return f"{base_url}/notifications/unsubscribe/{code}"


def read_code(session: Session, code: str) -> tuple[User, str]:
    """The person and kind a link names, if its signature holds."""
    parts = code.split("-")
    kind = parts[1] if len(parts) == 3 and parts[1] in OPTIONAL_KINDS else None
    user = _signed(
        session,
        parts[0] if kind else None,
        kind or "",
        parts[-1],
        NotFound("This unsubscribe link is not valid; check that it was copied whole"),
    )
    return user, kind or ""


def _signed(
    session: Session, user_id: str | None, what: str, signature: str, unknown: NotFound
) -> User:
    """The person a link names (``user_id``) for ``what``, if its ``signature`` holds
    and the account is not disabled (its links open nothing then); else ``unknown`` is
    raised. Every link, well formed or not, costs the same checks."""
    key = _key(session)
    number = whole_number(user_id) if user_id is not None else None
    expected = _signature(key, number or 0, what)
    # As bytes: compare_digest refuses text that is not ASCII, which a link may carry.
    if not hmac.compare_digest(signature.encode(), expected.encode()) or number is None:
        raise unknown
    user = session.get(User, number)
    if user is None or user.disabled_at is not None:
        raise unknown
    return user


def unsubscribe(*, session: Session, code: str, now: datetime) -> tuple[User, str]:
    """Turn off the kind a link names; turning off what is off changes nothing."""
    user, kind = read_code(session, code)
    choose(session=session, user=user, changes={kind: False}, now=now)
    return user, kind


# -- the page of a person's choices ------------------------------------------------------

# Signed as a kind of its own: no optional kind has this name, and a choices code has
# two parts where an unsubscribe code has three, so neither opens the other's page.
CHOICES = "choices"


def choices_code(session: Session, user_id: int) -> str:
    """The secret part of the link to a person's choices: who, signed with the key."""
    return f"{user_id}-{_signature(_key(session), user_id, CHOICES)}"


def choices_url(base_url: str, code: str) -> str:
    return f"{base_url}/notifications/choices/{code}"


def read_choices_code(session: Session, code: str) -> User:
    """The person whose choices a link opens, if its signature holds."""
    parts = code.split("-")
    return _signed(
        session,
        parts[0] if len(parts) == 2 else None,
        CHOICES,
        parts[-1],
        NotFound("This link to mail choices is not valid; check that it was copied whole"),
    )
