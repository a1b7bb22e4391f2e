"""Accounts, the invitations through which their owners receive a first token, and tokens.

Tokens are issued only to their owner: by the owner, signed in; by the owner opening
an invitation link; or by the operator on the server's command line. An admin creates
accounts and revokes tokens, and never holds a token of someone else's account.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.schemas import Signup, UserCreate
from app.accounts.tokens import issue_token
from app.audit import service as audit
from app.auth.tokens import hash_token, new_link_secret
from app.common.paging import Paged, PageRequest, fetch_page
from app.common.search import matching
from app.errors import Conflict, NotFound
from app.models import ApiToken, Invitation, Role, User


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "institution": user.institution,
        "member_state": user.member_state,
        "region": user.region,
    }


def create_user(*, session: Session, actor: User | None, data: UserCreate, now: datetime) -> User:
    """A new account; or, for an address that only signed up, that account made over to
    ``data``: until its owner opens the sign-up's link it is nobody's, and anyone may
    sign up with any address."""
    email = data.email.lower()
    taken = session.scalars(select(User).where(User.email == email).with_for_update()).first()
    if taken is not None:
        if not _unclaimed_sign_up(session, taken):
            raise Conflict(f"An account with the email {email} already exists")
        return _take_over(session, actor, taken, data, now)
    user = User(
        name=data.name,
        email=email,
        role=data.role,
        institution=data.institution,
        member_state=data.member_state,
        region=data.region,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor or user,
        action="user.created",
        entity_type="user",
        entity_id=user.id,
        after=_user_snapshot(user),
        at=now,
    )
    return user


def _held_a_token(user: User) -> Exists:
    """Whether ``user``'s owner has ever held a token of the account: they claimed it."""
    return exists().where(ApiToken.user_id == user.id)


def _unopened(user: User) -> ColumnElement[bool]:
    """A link of ``user``'s that was neither opened nor withdrawn (expired or not)."""
    return and_(
        Invitation.user_id == user.id,
        Invitation.opened_at.is_(None),
        Invitation.withdrawn_at.is_(None),
    )


def withdraw_links(
    session: Session, user: User, now: datetime, *only: ColumnElement[bool]
) -> list[int]:
    """Withdraw ``user``'s links not yet opened (of them, those ``only`` names): they stop
    working. Their ids."""
    links = session.scalars(select(Invitation).where(_unopened(user), *only).with_for_update())
    withdrawn = []
    for link in links:
        link.withdrawn_at = now
        withdrawn.append(link.id)
    return withdrawn


def _unclaimed_sign_up(session: Session, user: User) -> bool:
    """Whether ``user`` was made by sign-up and its owner never received a token: no link
    of someone else's making, no token ever issued."""
    invited = exists().where(Invitation.user_id == user.id, Invitation.created_by_id.is_not(None))
    return (
        user.role == Role.participant
        and user.disabled_at is None
        and not session.scalar(select(_held_a_token(user) | invited))
    )


def _take_over(
    session: Session, actor: User | None, user: User, data: UserCreate, now: datetime
) -> User:
    """The signed-up account as ``data`` says, its sign-up's link no longer usable."""
    before = _user_snapshot(user)
    user.name, user.role, user.institution = data.name, data.role, data.institution
    user.member_state, user.region = data.member_state, data.region
    withdraw_links(session, user, now)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.updated",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=_user_snapshot(user),
        at=now,
    )
    return user


@dataclass(frozen=True)
class NewAccount:
    """An account with its first token, and that token's secret, shown this once."""

    user: User
    token: ApiToken
    secret: str


def create_account(
    *, session: Session, data: UserCreate, token_label: str, now: datetime
) -> NewAccount:
    """An account with its first token, made by the operator on the server's command line
    (no account of the service acts: the trail records no actor)."""
    user = create_user(session=session, actor=None, data=data, now=now)
    token, secret = issue_token(session=session, actor=None, user=user, label=token_label, now=now)
    return NewAccount(user=user, token=token, secret=secret)


# -- invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited:
    """An account with a new invitation, and the link's secret, shown this once: to the
    owner by mail, and to the admin who asked too unless ``owner_only``."""

    user: User
    invitation: Invitation
    secret: str
    owner_only: bool = False


def invite(
    *,
    session: Session,
    actor: User | None,
    user: User,
    now: datetime,
    lifetime: timedelta,
    purpose: str = "invitation",
) -> Invited:
    """A new one-time link for ``user``'s owner; the earlier unopened ones stop working.
    A recovery link, which anyone may ask for, replaces earlier recovery links only: were
    it to withdraw the invitation an admin handed out, a stranger could keep it dead.
    ``actor`` is None when nobody signed in asked for it."""
    recovery_only = [Invitation.purpose == "recovery"] if purpose == "recovery" else []
    earlier = withdraw_links(session, user, now, *recovery_only)
    secret = new_link_secret()
    invitation = Invitation(
        user_id=user.id,
        token_hash=hash_token(secret),
        created_at=now,
        expires_at=now + lifetime,
        created_by_id=None if actor is None or actor.id == user.id else actor.id,
        purpose=purpose,
    )
    session.add(invitation)
    session.flush()
    after: dict[str, object] = {
        "invitation_id": invitation.id,
        "expires_at": invitation.expires_at,
        "replaces": earlier,
    }
    if purpose != "invitation":
        after["purpose"] = purpose
    audit.record(
        session=session,
        actor=actor,
        action="invitation.issued",
        entity_type="user",
        entity_id=user.id,
        after=after,
        at=now,
    )
    return Invited(user=user, invitation=invitation, secret=secret)


def create_invited_account(
    *, session: Session, actor: User, data: UserCreate, now: datetime, lifetime: timedelta
) -> Invited:
    """An account an admin creates, with the link through which its owner gets a token."""
    user = create_user(session=session, actor=actor, data=data, now=now)
    return invite(session=session, actor=actor, user=user, now=now, lifetime=lifetime)


def reinvite(
    *, session: Session, actor: User, user: User, now: datetime, lifetime: timedelta
) -> Invited:
    """A fresh link for an owner who has no working token (the first link expired, or was
    lost). An account with a working token gets none: the link would be a second way in
    that its owner does not know of.

    The link of an account whose owner has ever held a token is for the owner alone
    (``owner_only``): were it handed to the admin, an admin could revoke an owner's
    tokens and take the account over. An account never claimed is still nobody's, and
    its link may go through the admin who made it."""
    if user.disabled_at is not None:
        raise Conflict(f"User {user.id} is disabled; enable the account first")
    working = exists().where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    has_working, claimed = session.execute(select(working, _held_a_token(user))).one()
    if has_working:
        raise Conflict(
            f"User {user.id} has a working API token, so gets no new link; its owner issues "
            "more tokens themselves, or revoke their tokens first"
        )
    invited = invite(session=session, actor=actor, user=user, now=now, lifetime=lifetime)
    return replace(invited, owner_only=claimed)


def sign_up(
    *, session: Session, data: Signup, now: datetime, lifetime: timedelta
) -> Invited | None:
    """A participant account with an invitation for the address's owner. An address that
    has an account gets nothing, unless its owner never held a token and none of its links
    can be opened any more (the sign-up's link expired): then the owner is mailed a fresh
    link, or the sign-up could never be finished. The account itself is left as it is.
    The caller answers the same in every case, so that nobody learns from sign-up which
    addresses have accounts."""
    email = data.email.lower()
    existing = session.scalars(
        select(User).where(User.email == email).with_for_update()
    ).one_or_none()
    if existing is not None:
        return _renew_sign_up(session, existing, now, lifetime)
    try:
        with session.begin_nested():
            user = create_user(
                session=session,
                actor=None,
                data=UserCreate(name=data.name, email=email, role=Role.participant),
                now=now,
            )
            return invite(session=session, actor=user, user=user, now=now, lifetime=lifetime)
    except (IntegrityError, Conflict):  # the same address signed up at the same moment
        return None


def _renew_sign_up(
    session: Session, user: User, now: datetime, lifetime: timedelta
) -> Invited | None:
    """A fresh link for an account nobody has claimed and whose links are all spent; none
    while one still opens, which also bounds how often a stranger can have links mailed
    (one per link's lifetime). Anyone may ask, so the trail records no actor."""
    usable = exists().where(_unopened(user), Invitation.expires_at > now)
    if user.disabled_at is not None or session.scalar(select(_held_a_token(user) | usable)):
        return None
    return invite(session=session, actor=None, user=user, now=now, lifetime=lifetime)


RECOVERY_WINDOW = timedelta(hours=1)


def recover(
    *, session: Session, email: str, now: datetime, lifetime: timedelta, per_hour: int
) -> Invited | None:
    """A short-lived one-time link that gives the owner of ``email`` a new token; nothing
    when the address has no account, its account is disabled, or it has had ``per_hour``
    such links in the last hour.
    The caller answers the same in every case, so nobody learns which addresses have
    accounts; and since anyone may ask, the trail records no actor, not the owner. The
    account's row is locked while the recent links are counted, so that requests at the
    same moment cannot pass the limit together."""
    user = session.scalars(
        select(User).where(User.email == email.lower()).with_for_update()
    ).one_or_none()
    if user is None or user.disabled_at is not None:
        return None
    recent = session.scalar(
        select(func.count()).where(
            Invitation.user_id == user.id,
            Invitation.purpose == "recovery",
            Invitation.created_at > now - RECOVERY_WINDOW,
        )
    )
    if (recent or 0) >= per_hour:
        return None
    return invite(
        session=session, actor=None, user=user, now=now, lifetime=lifetime, purpose="recovery"
    )


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _usable_invitation(
    session: Session, secret: str, now: datetime, *, for_update: bool = False
) -> Invitation:
    query = select(Invitation).where(Invitation.token_hash == hash_token(secret))
    if for_update:
        query = query.with_for_update()  # two openings at once: the second waits, then sees it used
    invitation = session.scalars(query).one_or_none()
    if invitation is None:
        raise NotFound("No invitation at this link; check that it was copied whole")
    if invitation.user.disabled_at is not None:
        raise Conflict("This account is disabled, so its links give no token; ask an admin")
    if invitation.opened_at is not None:
        raise Conflict(
            f"This invitation was already opened on {_when(invitation.opened_at)}; a link gives "
            "one token. If that was not you, tell an administrator"
        )
    if invitation.withdrawn_at is not None:
        raise Conflict(
            "This link no longer works: a newer link replaced it, or another link of the "
            "account was opened; open the newest one you were sent"
        )
    if invitation.expires_at <= now:
        raise Conflict(
            f"This invitation expired on {_when(invitation.expires_at)}; ask an administrator "
            "for a new link"
        )
    return invitation


def read_invitation(*, session: Session, secret: str, now: datetime) -> Invitation:
    """The invitation at a link, if it can still be opened; reading it changes nothing."""
    return _usable_invitation(session, secret, now)


def open_invitation(*, session: Session, secret: str, label: str, now: datetime) -> NewAccount:
    """Open an invitation: its account's first token, issued to whoever holds the link,
    which is meant to be the account's owner. The link works once, and the account's
    other unopened links stop working: once its owner holds a token, the invitation an
    admin handed out is no longer a way in for whoever else has seen it."""
    invitation = _usable_invitation(session, secret, now, for_update=True)
    user = invitation.user
    token, token_secret = issue_token(session=session, actor=user, user=user, label=label, now=now)
    invitation.opened_at = now
    invitation.token_id = token.id
    session.flush()  # one token per link: the unique token_id holds it in the database
    others = withdraw_links(session, user, now)  # this one is opened, as flushed above
    after: dict[str, object] = {"invitation_id": invitation.id, "token_id": token.id}
    if others:
        after["withdraws"] = others
    audit.record(
        session=session,
        actor=user,
        action="invitation.opened",
        entity_type="user",
        entity_id=user.id,
        after=after,
        at=now,
    )
    return NewAccount(user=user, token=token, secret=token_secret)


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}")
    return user


def list_users(
    *, session: Session, text: str | None, role: Role | None, page: PageRequest
) -> Paged[User]:
    """Accounts whose name or e-mail holds every word of ``text``, by name."""
    query = select(User).where(matching(text, User.name, User.email))
    if role is not None:
        query = query.where(User.role == role)
    return fetch_page(session, query.order_by(func.lower(User.name), User.id), page)
