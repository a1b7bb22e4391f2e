"""Accounts as a test uses them."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.models import ApiToken, Role, User


@dataclass
class Account:
    """A user of the service as a test sees it: the row and the header to act as them."""

    user: User
    token: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    @property
    def id(self) -> int:
        return self.user.id


_DEFAULTS = {
    Role.secretariat: {"institution": "dg_rtd"},
    Role.member: {"member_state": "BE", "region": "Brussels-Capital Region"},
}


def add_account(
    session_factory: sessionmaker[Session],
    role: Role | str,
    name: str | None = None,
    *,
    now: datetime,
    **fields,
) -> Account:
    role = Role(role)
    name = name or f"{role.value.title()} {uuid.uuid4().hex[:6]}"
    data = UserCreate(
        name=name,
        email=f"{uuid.uuid4().hex[:10]}@example.eu",
        role=role,
        **{**_DEFAULTS.get(role, {}), **fields},
    )
    with session_factory.begin() as session:
        account = users.create_account(session=session, data=data, token_label="test", now=now)
    return Account(user=account.user, token=account.secret)


def last_uses(database_url: str, accounts: list[Account]) -> list[datetime | None]:
    """The last use of each account's token, as the database has it, read without asking
    for any lock."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = dict(
                connection.execute(
                    select(ApiToken.user_id, ApiToken.last_used_at).where(
                        ApiToken.user_id.in_([account.id for account in accounts])
                    )
                ).all()
            )
    finally:
        engine.dispose()
    return [found[account.id] for account in accounts]


# An account an admin makes for someone, in the tests of invitations.
PARTICIPANT = {"name": "Olga Owner", "email": "olga@example.eu", "role": "participant"}


def invite(client: Any, admin: Account, **fields: Any) -> dict[str, Any]:
    """An account an admin creates (``PARTICIPANT``, with ``fields``): the answer, with
    its invitation."""
    response = client.post("/users", headers=admin.headers, json={**PARTICIPANT, **fields})
    assert response.status_code == 201, response.text
    return response.json()
