"""API tokens: issued only to their owner, revoked by their owner or an admin. Only a
token's hash is kept; its secret is shown once, as it is issued."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.tokens import hash_token, new_token
from app.common.paging import Paged, PageRequest, fetch_page
from app.errors import Forbidden, NotFound
from app.models import ApiToken, User


def list_tokens(*, session: Session, user: User, page: PageRequest) -> Paged[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return fetch_page(session, query, page)


def issue_token(
    *, session: Session, actor: User | None, user: User, label: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for ``user``, asked for by ``user`` (``actor``) or by the operator on the
    server (no actor); the secret is returned once and never stored."""
    if actor is not None and actor.id != user.id:
        raise Forbidden(
            "API tokens are issued only to their owner; an admin may revoke them, or send the "
            "owner a new invitation link if they have no working token"
        )
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
