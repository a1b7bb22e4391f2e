"""Accounts and API tokens."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.schemas import UserCreate
from app.audit import service as audit
from app.auth.tokens import hash_token, new_token
from app.common.paging import Paged, PageRequest, fetch_page
from app.common.search import matching
from app.errors import Conflict, NotFound
from app.models import ApiToken, Role, User


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
    email = data.email.lower()
    taken = session.scalar(select(User.id).where(User.email == email))
    if taken:
        raise Conflict(f"An account with the email {email} already exists")
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


@dataclass(frozen=True)
class NewAccount:
    """An account with its first token, and that token's secret, shown this once."""

    user: User
    token: ApiToken
    secret: str


def create_account(
    *, session: Session, data: UserCreate, token_label: str, now: datetime
) -> NewAccount:
    """An account opened with its first token: by its owner signing up, or by the operator
    on the server's command line."""
    user = create_user(session=session, actor=None, data=data, now=now)
    token, secret = issue_token(session=session, actor=user, user=user, label=token_label, now=now)
    return NewAccount(user=user, token=token, secret=secret)


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


def list_tokens(*, session: Session, user: User, page: PageRequest) -> Paged[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return fetch_page(session, query, page)


def issue_token(
    *, session: Session, actor: User, user: User, label: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for ``user``; the secret is returned once and never stored."""
    secret = new_token()
    token = ApiToken(user_id=user.id, token_hash=hash_token(secret), label=label, created_at=now)
    session.add(token)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="token.issued",
        entity_type="user",
        entity_id=user.id,
        after={"token_id": token.id, "label": label},
        at=now,
    )
    return token, secret


def revoke_token(
    *, session: Session, actor: User, user: User, token_id: int, now: datetime
) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"User {user.id} has no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session=session,
            actor=actor,
            action="token.revoked",
            entity_type="user",
            entity_id=user.id,
            before={"token_id": token.id, "revoked_at": None},
            after={"token_id": token.id, "revoked_at": now},
            at=now,
        )
    return token
