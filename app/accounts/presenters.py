"""Response bodies for accounts, invitations and tokens, made from rows."""

from datetime import datetime

from app.accounts.schemas import (
    AccountRef,
    FirstToken,
    InvitationIssued,
    InvitationRead,
    TokenIssued,
    TokenRead,
    UserCreated,
    UserRead,
)
from app.accounts.service import Invited, NewAccount
from app.models import ApiToken, Invitation, User


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        institution=user.institution,
        member_state=user.member_state,
        region=user.region,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
    )


def token_read(token: ApiToken, last_used_at: datetime | None = None) -> TokenRead:
    """The token; ``last_used_at`` when a later use than the stored one is known."""
    return TokenRead(
        id=token.id,
        label=token.label,
        created_at=token.created_at,
        last_used_at=last_used_at or token.last_used_at,
        revoked_at=token.revoked_at,
    )


def token_issued(token: ApiToken, secret: str) -> TokenIssued:
    return TokenIssued(**token_read(token).model_dump(), token=secret)


def first_token(account: NewAccount) -> FirstToken:
    return FirstToken(
        user=user_read(account.user), token=token_issued(account.token, account.secret)
    )


def invitation_url(base_url: str, secret: str) -> str:
    return f"{base_url}/invitations/{secret}"


def invitation_issued(invited: Invited, base_url: str) -> InvitationIssued:
    """The link as the admin who asked for it sees it: without its secret when it is for
    the owner alone."""
    url = None if invited.owner_only else invitation_url(base_url, invited.secret)
    return InvitationIssued(
        url=url, mailed_to=invited.user.email, expires_at=invited.invitation.expires_at
    )


def user_created(invited: Invited, base_url: str) -> UserCreated:
    return UserCreated(
        user=user_read(invited.user), invitation=invitation_issued(invited, base_url)
    )


def invitation_read(invitation: Invitation) -> InvitationRead:
    return InvitationRead(
        user=AccountRef(id=invitation.user.id, name=invitation.user.name),
        expires_at=invitation.expires_at,
    )
