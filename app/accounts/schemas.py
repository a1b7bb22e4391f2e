"""Bodies for accounts and tokens."""

from typing import Self

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from app.common.schemas import Instant, Line100, Line200, Line500, Name, Strict
from app.models import Institution, Role

# ISO 3166-1 alpha-2 codes of the 27 member states. The EU's own style writes
# Greece as EL; it is accepted and kept as the ISO code GR.
EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


class UserCreate(Strict):
    name: Name
    email: EmailStr = Field(max_length=320)
    role: Role
    institution: Institution | None = None
    member_state: str | None = Field(default=None, description="EU country code, e.g. BE")
    region: Line200 | None = None

    @field_validator("member_state")
    @classmethod
    def _eu_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        code = "GR" if code == "EL" else code
        if code not in EU_MEMBER_STATES:
            raise ValueError(
                f"{value!r} is not an EU member state; use a code such as "
                + ", ".join(sorted(EU_MEMBER_STATES))
            )
        return code

    @model_validator(mode="after")
    def _fields_of_the_role(self) -> Self:
        if self.role == Role.secretariat and self.institution is None:
            raise ValueError("a secretariat account needs an institution: dg_rtd, cor_sedec or jrc")
        if self.role != Role.secretariat and self.institution is not None:
            raise ValueError(f"only secretariat accounts have an institution, not {self.role}")
        if self.role == Role.member and (self.member_state is None or self.region is None):
            raise ValueError("a member account needs member_state and region")
        if self.role != Role.member and (self.member_state or self.region):
            raise ValueError(f"only member accounts have member_state and region, not {self.role}")
        return self


class Signup(Strict):
    name: Name
    email: EmailStr = Field(max_length=320)


class TokenRecovery(Strict):
    email: EmailStr = Field(max_length=320)


class Disabling(Strict):
    reason: Line500 | None = Field(
        default=None, description="why, for the audit trail", examples=["Left the institution"]
    )


class UserRead(BaseModel):
    id: int
    name: str
    email: str
    role: Role
    institution: Institution | None
    member_state: str | None
    region: str | None
    created_at: Instant
    disabled_at: Instant | None = Field(
        description="when an admin disabled the account: none of its tokens or links "
        "works, and it receives no mail, until an admin enables it"
    )


class TokenCreate(Strict):
    label: Line100 = "API token"


class TokenRead(BaseModel):
    id: int
    label: str
    created_at: Instant
    last_used_at: Instant | None
    revoked_at: Instant | None


class TokenIssued(TokenRead):
    token: str = Field(description="The secret. Shown this once; only its hash is kept.")


class FirstToken(BaseModel):
    """An account's first token, from opening its invitation."""

    user: UserRead
    token: TokenIssued


class InvitationIssued(BaseModel):
    url: str | None = Field(
        description="A one-time link for the account's owner: opening it (POST) gives them "
        "an API token. Shown this once; only its hash is kept. Null when the owner has held "
        "a token of the account before: the link is then mailed to them alone."
    )
    mailed_to: str = Field(description="The address the link was mailed to.")
    expires_at: Instant


class UserCreated(BaseModel):
    user: UserRead
    invitation: InvitationIssued


class AccountRef(BaseModel):
    id: int
    name: str


class InvitationRead(BaseModel):
    user: AccountRef
    expires_at: Instant


class SignupAccepted(BaseModel):
    detail: str
