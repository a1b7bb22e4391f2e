"""Bodies for the feed lists and personal feeds."""

from pydantic import BaseModel, Field

from app.common.schemas import Instant, Line100, Strict


class FeedRead(BaseModel):
    """A public feed one can subscribe to."""

    title: str
    description: str
    url: str = Field(description="the feed over http(s)")
    webcal_url: str = Field(description="the same feed as webcal://, which calendar apps open")
    action: int | None = Field(description="the action whose events it holds, if it is one")
    priority_area: int | None = Field(
        description="the priority area whose events it holds, if it is one"
    )


class PersonalFeedCreate(Strict):
    label: Line100 | None = Field(default=None, description="to tell your feeds apart")


class PersonalFeedRead(BaseModel):
    id: int
    label: str
    created_at: Instant
    last_fetched_at: Instant | None = Field(description="when a calendar app last fetched it")
    revoked_at: Instant | None


class PersonalFeedIssued(PersonalFeedRead):
    url: str = Field(description="the feed's secret address: shown this once")
    webcal_url: str
