"""Typed dependencies: a router's signature says what it needs and who may call it."""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from app.accounts import service as accounts
from app.auth.tokens import hash_token, same_hash
from app.auth.uses import TokenUses
from app.clock import Clock, get_clock
from app.common.cache import BoundedCache
from app.common.http import CALLER_FRESH_UNTIL
from app.common.schemas import IdPath
from app.config import Settings
from app.data_state import current_state, shares_states
from app.db import reads_only, writing
from app.errors import Forbidden, NotFound, Unauthorized
from app.models import ApiToken, Role, User
from app.sessions import get_session

SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_app_settings(request: Request) -> Settings:
    # Asynchronous, as it does no I/O: it needs no worker thread of its own.
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API token issued by this service")
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a token stood for in one state of the data (the account's columns), and when
    the token was last used."""

    columns: dict[str, Any]
    last_used_at: datetime

    @classmethod
    def of(cls, user: User, last_used_at: datetime) -> "Caller":
        columns = {column.key: getattr(user, column.key) for column in _USER_COLUMNS}
        return cls(columns, last_used_at)

    def user_in(self, session: Session) -> User:
        """The account as an instance of the session, as if the session had loaded it:
        its relationships load when asked for."""
        user = User(**self.columns)
        make_transient_to_detached(user)
        return session.merge(user, load=False)


_USER_COLUMNS = tuple(User.__mapper__.column_attrs)


# Callers kept by (token hash, state of the data): a few hundred bytes each.
CALLERS_BYTES = 4 * 1024 * 1024


def callers_cache() -> BoundedCache[Hashable, Caller]:
    return BoundedCache(CALLERS_BYTES, size=lambda _caller: 1024)


async def optional_user(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The caller, or None when no token is sent. A token that is sent must be valid.

    Asynchronous, so that an anonymous request needs no worker thread for it; the
    token's lookup runs in one. A request that only reads finds who a token stands for
    among the callers kept by the state of the data, as answers are kept
    (``app.common.http.kept_json``): while nothing has changed, and its last use was
    recorded within the minute, it needs no statement and no thread."""
    if credentials is None:
        return None
    digest = hash_token(credentials.credentials)
    app = request.app
    # The use is noted for the writer of uses (app.auth.uses), where one runs.
    noted: TokenUses = app.state.token_uses
    uses = noted if noted.writing and shares_states(app) else None
    if not reads_only(request):
        user, _used = await anyio.to_thread.run_sync(_token_user, session, clock, digest, uses)
        return user
    callers: BoundedCache[Hashable, Caller] = app.state.callers
    key = (digest, await current_state(request, session))
    kept = callers.get(key)
    if kept is None or clock() - kept.last_used_at >= LAST_USED_RESOLUTION:
        user, used = await anyio.to_thread.run_sync(_token_user, session, clock, digest, uses)
        kept = Caller.of(user, used)
        callers.put(key, kept)
    else:
        user = kept.user_in(session)
    # Until then, an answer kept for this very request needs no new last use.
    setattr(request.state, CALLER_FRESH_UNTIL, kept.last_used_at + LAST_USED_RESOLUTION)
    return user


def _token_user(
    session: Session, clock: Clock, digest: str, uses: TokenUses | None = None
) -> tuple[User, datetime]:
    """The token's user, and when the token was last used (now, if it was recorded).
    With ``uses``, a new use is noted there rather than written by this request."""
    found = session.execute(_token_statement(), {"digest": digest}).one_or_none()
    if found is None or not same_hash(found.token_hash, digest):
        raise Unauthorized("The API token is unknown or has been revoked")
    user, token_id, _hash, stored = found
    now = clock()
    last = stored if uses is None else uses.latest(token_id, stored)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        if uses is None or not uses.note(token_id, now):  # no writer (any more)
            _record_last_use(session, token_id, now)
            return user, stored or now
        last = now
    return user, last


@lru_cache(maxsize=1)
def _token_statement() -> Any:
    """Built once: it runs on nearly every request that sends a token. One query for who
    is calling; of the token, only the columns this needs (no entity to keep track of)."""
    return (
        select(User, ApiToken.id, ApiToken.token_hash, ApiToken.last_used_at)
        .join(ApiToken.user)
        .where(
            ApiToken.token_hash == bindparam("digest"),
            ApiToken.revoked_at.is_(None),
            User.disabled_at.is_(None),  # its tokens are revoked too: this holds regardless
        )
    )


def _record_last_use(session: Session, token_id: int, now: datetime) -> None:
    # Skip the bookkeeping when another request holds the row: concurrent requests
    # with one token must never queue behind each other for a timestamp.
    with writing(session):
        free = session.scalars(
            select(ApiToken.id).where(ApiToken.id == token_id).with_for_update(skip_locked=True)
        ).one_or_none()
        if free is not None:
            session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Not authenticated: send the header 'Authorization: Bearer <token>'")
    return user


def require_roles(*roles: Role):
    allowed = ", ".join(roles)

    async def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(f"This needs the role {allowed}; you are {user.role}")
        return user

    return dependency


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
Admin = Annotated[User, Depends(require_roles(Role.admin))]
Secretariat = Annotated[User, Depends(require_roles(Role.secretariat))]
SecretariatOrAdmin = Annotated[User, Depends(require_roles(Role.secretariat, Role.admin))]


def managed_account(user_id: IdPath, session: SessionDep, actor: CurrentUser) -> User:
    """The account at ``/users/{user_id}``, for an admin or for the account's owner. To
    anyone else it is unknown, exactly as an id without an account is, so that nobody
    learns which ids have accounts."""
    if actor.role != Role.admin and actor.id != user_id:
        raise NotFound(f"No user with id {user_id}")
    return accounts.get_user(session=session, user_id=user_id)


ManagedAccount = Annotated[User, Depends(managed_account)]
