"""Response bodies for accounts and tokens, made from rows."""

from app.accounts.schemas import SignupResult, TokenIssued, TokenRead, UserRead
from app.accounts.service import NewAccount
from app.models import ApiToken, User


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
    )


def token_read(token: ApiToken) -> TokenRead:
    return TokenRead(
        id=token.id,
        label=token.label,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def token_issued(token: ApiToken, secret: str) -> TokenIssued:
    return TokenIssued(**token_read(token).model_dump(), token=secret)


def signup_result(account: NewAccount) -> SignupResult:
    return SignupResult(
        user=user_read(account.user), token=token_issued(account.token, account.secret)
    )
