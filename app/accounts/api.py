"""Accounts, sign-up and API tokens."""

from fastapi import APIRouter, status

from app.accounts import presenters
from app.accounts import service as users
from app.accounts.schemas import (
    Signup,
    SignupResult,
    TokenCreate,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserRead,
)
from app.auth.deps import Admin, ClockDep, CurrentUser, ManagedAccount, SessionDep
from app.bodies import JsonRoute
from app.common.schemas import IdPath
from app.errors import responses
from app.models import Role

router = APIRouter(tags=["accounts"], route_class=JsonRoute)


@router.get("/me", response_model=UserRead, responses=responses(401))
def read_me(user: CurrentUser):
    """The account behind the token you send."""
    return presenters.user_read(user)


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409),
)
def create_user(body: UserCreate, session: SessionDep, admin: Admin, clock: ClockDep):
    """Create an account (admins only). Secretariat accounts name their institution;
    member accounts their member state and region."""
    user = users.create_user(session=session, actor=admin, data=body, now=clock())
    return presenters.user_read(user)


@router.get("/users/{user_id}", response_model=UserRead, responses=responses(401, 403, 404))
def read_user(user: ManagedAccount):
    """One account: for admins, or for the account's owner."""
    return presenters.user_read(user)


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenIssued,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404),
)
def issue_token(
    user: ManagedAccount,
    session: SessionDep,
    actor: CurrentUser,
    clock: ClockDep,
    body: TokenCreate | None = None,
):
    """Issue an API token. The secret is in this answer only: store it now."""
    label = body.label if body else TokenCreate().label
    token, secret = users.issue_token(
        session=session, actor=actor, user=user, label=label, now=clock()
    )
    return presenters.token_issued(token, secret)


@router.get(
    "/users/{user_id}/tokens", response_model=list[TokenRead], responses=responses(401, 403, 404)
)
def list_tokens(user: ManagedAccount):
    """The account's tokens, without their secrets: when each was issued, last used, revoked."""
    return [presenters.token_read(token) for token in sorted(user.tokens, key=lambda t: t.id)]


@router.delete(
    "/users/{user_id}/tokens/{token_id}",
    response_model=TokenRead,
    responses=responses(401, 403, 404),
)
def revoke_token(
    user: ManagedAccount, token_id: IdPath, session: SessionDep, actor: CurrentUser, clock: ClockDep
):
    """Revoke a token: it stops working at once. Revoking twice is harmless."""
    token = users.revoke_token(
        session=session, actor=actor, user=user, token_id=token_id, now=clock()
    )
    return presenters.token_read(token)


@router.post(
    "/signup",
    response_model=SignupResult,
    status_code=status.HTTP_201_CREATED,
    responses=responses(409),
)
def signup(body: Signup, session: SessionDep, clock: ClockDep):
    """Open a participant account and receive its first API token (shown once)."""
    account = users.create_account(
        session=session,
        data=UserCreate(name=body.name, email=body.email, role=Role.participant),
        token_label="first token",
        now=clock(),
    )
    return presenters.signup_result(account)
