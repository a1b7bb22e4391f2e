"""Bodies of the mail preferences, unsubscribe links and the outbox."""

from typing import Literal

from pydantic import BaseModel, Field

from app.common.schemas import Instant, Patch, YesOrNo
from app.models import MessageStatus
from app.notifications.kinds import KINDS, OPTIONAL_KINDS


def _about(kind: str) -> str:
    return f"for {KINDS[kind].audience}: {KINDS[kind].description}"


class NotificationChoices(BaseModel):
    """Which optional mails you receive. Mails about your own registrations and your
    account always go out."""

    event_reminder: bool = Field(description=_about("event_reminder"))
    own_event: bool = Field(description=_about("own_event"))
    call_for_topics: bool = Field(description=_about("call_for_topics"))
    voting_opens: bool = Field(description=_about("voting_opens"))
    proposal_outcome: bool = Field(description=_about("proposal_outcome"))
    event_submitted: bool = Field(description=_about("event_submitted"))
    voting_closed: bool = Field(description=_about("voting_closed"))
    choice_awaited: bool = Field(description=_about("choice_awaited"))
    topic_agreed: bool = Field(description=_about("topic_agreed"))
    always_sent: list[str] = Field(
        description="the kinds of mail that cannot be turned off: about your own "
        "registrations, and your account's links"
    )


class NotificationChoicesPatch(Patch):
    """Turn optional mails on (true) or off (false); what is left out stays as it is."""

    not_emptied = OPTIONAL_KINDS

    event_reminder: YesOrNo | None = Field(default=None, description=_about("event_reminder"))
    own_event: YesOrNo | None = Field(default=None, description=_about("own_event"))
    call_for_topics: YesOrNo | None = Field(default=None, description=_about("call_for_topics"))
    voting_opens: YesOrNo | None = Field(default=None, description=_about("voting_opens"))
    proposal_outcome: YesOrNo | None = Field(default=None, description=_about("proposal_outcome"))
    event_submitted: YesOrNo | None = Field(default=None, description=_about("event_submitted"))
    voting_closed: YesOrNo | None = Field(default=None, description=_about("voting_closed"))
    choice_awaited: YesOrNo | None = Field(default=None, description=_about("choice_awaited"))
    topic_agreed: YesOrNo | None = Field(default=None, description=_about("topic_agreed"))


class Unsubscription(BaseModel):
    """What an unsubscribe link turns off, and whether it is off."""

    kind: str
    description: str
    enabled: bool
    detail: str


class OutboxRead(BaseModel):
    """A message in the outbox, without its body."""

    id: int
    kind: str
    recipient: str
    recipient_name: str
    subject: str
    status: MessageStatus
    attempts: int
    last_error: str | None
    calendar_method: Literal["REQUEST", "CANCEL"] | None
    created_at: Instant
    next_attempt_at: Instant | None = Field(description="when it is tried next, while pending")
    sent_at: Instant | None


# Every optional kind has its switch, and nothing else has one.
assert set(NotificationChoicesPatch.model_fields) == set(OPTIONAL_KINDS)
