"""Accounts, sign-up, invitations and API tokens."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.accounts import disabling, presenters, tokens
from app.accounts import service as users
from app.accounts.link_requests import one_more_link_request
from app.accounts.schemas import (
    Disabling,
    FirstToken,
    InvitationIssued,
    InvitationRead,
    Signup,
    SignupAccepted,
    TokenCreate,
    TokenIssued,
    TokenRead,
    TokenRecovery,
    UserCreate,
    UserCreated,
    UserRead,
)
from app.accounts.service import Invited
from app.auth.deps import Admin, ClockDep, CurrentUser, ManagedAccount, SessionDep, SettingsDep
from app.auth.uses import TokenUses
from app.bodies import JsonRoute
from app.common.http import LOCATED, located
from app.common.params import Paging
from app.common.schemas import IdPath, Page, presented_page
from app.config import Settings
from app.errors import responses
from app.models import ApiToken, Role
from app.notifications import messages
from app.notifications.outbox import enqueue
from app.notifications.wording import moment

router = APIRouter(tags=["accounts"], route_class=JsonRoute)

LinkSecret = Annotated[str, Path(max_length=100, description="the secret part of the link")]

SIGNUP_ACCEPTED = (
    "If this address can have an account, its owner will receive a link to finish signing "
    "up. The link works once and for a limited time."
)


RECOVERY_ACCEPTED = (
    "If this address has an account, its owner will receive a link that gives a new API "
    "token. The link works once and for a short time."
)


def deliver_invitation(session: Session, invited: Invited, settings: Settings) -> None:
    """Mail the owner of an account their one-time link: written to the outbox in the
    transaction that made the link, and sent once it has committed. The link's secret
    stays in the outbox only until the mail is delivered."""
    invitation = invited.invitation
    link = presenters.invitation_url(settings.base_url, invited.secret)
    expires = moment(invitation.expires_at, "UTC")
    make = messages.token_recovery if invitation.purpose == "recovery" else messages.invitation
    draft = make(invited.user, link, invitation.id, expires)
    enqueue(session, draft, settings=settings, now=invitation.created_at)


@router.get("/me", response_model=UserRead, responses=responses(401))
def read_me(user: CurrentUser):
    """The account behind the token you send."""
    return presenters.user_read(user)


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403, 409), **LOCATED},
)
def create_user(
    body: UserCreate,
    session: SessionDep,
    admin: Admin,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Create an account (admins only). Secretariat accounts name their institution;
    member accounts their member state and region.

    The answer carries a one-time invitation link for the account's owner, valid for
    `KEP_INVITATION_HOURS`: opening it gives them their first API token. It is mailed to
    them too; pass it on if the mail does not reach them. The account has no token until
    they open it.

    An address that only signed up (its link never opened) is taken over: that account
    gets the role and details given, and the sign-up's link stops working. An address
    whose owner has held a token is a 409."""
    invited = users.create_invited_account(
        session=session,
        actor=admin,
        data=body,
        now=clock(),
        lifetime=settings.invitation_lifetime,
    )
    deliver_invitation(session, invited, settings)
    located(response, settings.base_url, f"/users/{invited.user.id}")
    return presenters.user_created(invited, settings.base_url)


@router.get("/users", response_model=Page[UserRead], responses=responses(401, 403))
def list_users(
    session: SessionDep,
    _admin: Admin,
    page: Paging,
    q: Annotated[
        str | None,
        Query(max_length=200, description="words to find in the name or e-mail address"),
    ] = None,
    role: Role | None = None,
):
    """Find accounts (admins only): by words of their name or e-mail address, and by role;
    in order of name."""
    found = users.list_users(session=session, text=q, role=role, page=page)
    return presented_page(UserRead, found, presenters.user_read, page)


@router.get("/users/{user_id}", response_model=UserRead, responses=responses(401, 404))
def read_user(user: ManagedAccount):
    """One account: for admins, or for the account's owner. To anyone else every id is
    unknown, whether it has an account or not."""
    return presenters.user_read(user)


@router.post(
    "/users/{user_id}/disable", response_model=UserRead, responses=responses(401, 403, 404, 409)
)
def disable_user(
    user: ManagedAccount,
    session: SessionDep,
    admin: Admin,
    clock: ClockDep,
    body: Disabling | None = None,
):
    """Disable an account (admins only), for someone who must no longer use it: its
    tokens are revoked, its unopened links and personal feeds stop working and the mail
    waiting for it is withdrawn; until an admin enables it, no token, link or mail is
    made for it, and token recovery and sign-up send it nothing. Its places at events
    not yet begun go to the waitlists; everything else it made stays as it is.
    Disabling a disabled account answers it as it stands; no admin disables their own
    account (409)."""
    reason = body.reason if body else None
    disabled = disabling.disable(
        session=session, actor=admin, user=user, reason=reason, now=clock()
    )
    return presenters.user_read(disabled)


@router.post("/users/{user_id}/enable", response_model=UserRead, responses=responses(401, 403, 404))
def enable_user(user: ManagedAccount, session: SessionDep, admin: Admin, clock: ClockDep):
    """Enable a disabled account (admins only). Its tokens stay revoked: its owner gets
    a new one through `POST /token-recovery`, or through a link sent with
    `POST /users/{id}/invitation`."""
    return presenters.user_read(
        disabling.enable(session=session, actor=admin, user=user, now=clock())
    )


@router.post(
    "/users/{user_id}/invitation",
    response_model=InvitationIssued,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409),
)
def send_invitation(
    user: ManagedAccount,
    session: SessionDep,
    admin: Admin,
    clock: ClockDep,
    settings: SettingsDep,
):
    """A new invitation link for an owner without a working token (admins only): the
    first link expired or was lost, or an admin revoked the owner's tokens. Earlier
    unopened links stop working.

    The link is mailed to the account's address. An account whose owner never held a
    token (never opened a link) also has the link in this answer, to pass on; for one
    whose owner has, `url` is null: the link goes to the owner alone, since admins revoke
    tokens but never act as another account."""
    invited = users.reinvite(
        session=session,
        actor=admin,
        user=user,
        now=clock(),
        lifetime=settings.invitation_lifetime,
    )
    deliver_invitation(session, invited, settings)
    return presenters.invitation_issued(invited, settings.base_url)


@router.get("/invitations/{secret}", response_model=InvitationRead, responses=responses(404, 409))
def read_invitation(secret: LinkSecret, session: SessionDep, clock: ClockDep):
    """Whose invitation a link is, and until when it can be opened. Reading it changes
    nothing, so link previews cannot use it up."""
    return presenters.invitation_read(
        users.read_invitation(session=session, secret=secret, now=clock())
    )


@router.post(
    "/invitations/{secret}",
    response_model=FirstToken,
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 409),
)
def open_invitation(
    secret: LinkSecret, session: SessionDep, clock: ClockDep, body: TokenCreate | None = None
):
    """Open an invitation and receive the account's first API token (shown once). A link
    works once; the opening is recorded in the audit trail."""
    label = body.label if body else TokenCreate().label
    account = users.open_invitation(session=session, secret=secret, label=label, now=clock())
    return presenters.first_token(account)


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
    """Issue yourself another API token. The secret is in this answer only: store it now.
    Tokens are issued only to their owner: admins may revoke them, not issue them."""
    label = body.label if body else TokenCreate().label
    token, secret = tokens.issue_token(
        session=session, actor=actor, user=user, label=label, now=clock()
    )
    return presenters.token_issued(token, secret)


@router.get(
    "/users/{user_id}/tokens", response_model=Page[TokenRead], responses=responses(401, 404)
)
def list_tokens(request: Request, user: ManagedAccount, session: SessionDep, page: Paging):
    """The account's tokens, oldest first, without their secrets: when each was issued,
    last used (to the minute; a use through another server process shows within half a
    minute), revoked."""
    found = tokens.list_tokens(session=session, user=user, page=page)
    uses: TokenUses = request.app.state.token_uses

    def shown(token: ApiToken) -> TokenRead:
        return presenters.token_read(token, uses.latest(token.id, token.last_used_at))

    return presented_page(TokenRead, found, shown, page)


@router.delete(
    "/users/{user_id}/tokens/{token_id}",
    response_model=TokenRead,
    responses=responses(401, 404),
)
def revoke_token(
    user: ManagedAccount, token_id: IdPath, session: SessionDep, actor: CurrentUser, clock: ClockDep
):
    """Revoke a token (its owner or an admin): it stops working at once. Revoking a revoked
    token answers it as it stands."""
    token = tokens.revoke_token(
        session=session, actor=actor, user=user, token_id=token_id, now=clock()
    )
    return presenters.token_read(token)


@router.post(
    "/signup",
    response_model=SignupAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(one_more_link_request)],
    responses=responses(429),
)
def signup(body: Signup, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    """Ask for a participant account. The answer is the same whether or not the address
    already has one: the address's owner receives a one-time link that gives the first
    API token. One client may ask for `KEP_LINK_REQUESTS_PER_HOUR` sign-ups and token
    recoveries an hour (30 by default); past that, 429 with `Retry-After`."""
    invited = users.sign_up(
        session=session, data=body, now=clock(), lifetime=settings.invitation_lifetime
    )
    if invited is not None:
        deliver_invitation(session, invited, settings)
    return SignupAccepted(detail=SIGNUP_ACCEPTED)


@router.post(
    "/token-recovery",
    response_model=SignupAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(one_more_link_request)],
    responses=responses(429),
)
def recover_token(body: TokenRecovery, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    """Lost your API tokens? Send your address: its owner receives a one-time link that
    gives a new token (valid `KEP_RECOVERY_MINUTES`, 30 by default). The answer is the
    same whether or not the address has an account; a few links an hour per address at
    most, and `KEP_LINK_REQUESTS_PER_HOUR` sign-ups and token recoveries an hour per
    client (30 by default; past that, 429 with `Retry-After`)."""
    invited = users.recover(
        session=session,
        email=body.email,
        now=clock(),
        lifetime=settings.recovery_lifetime,
        per_hour=settings.recovery_per_hour,
    )
    if invited is not None:
        deliver_invitation(session, invited, settings)
    return SignupAccepted(detail=RECOVERY_ACCEPTED)
