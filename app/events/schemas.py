"""Bodies for events, agendas and registrations."""

from typing import Annotated, Literal, Self

import pycountry
from pydantic import AfterValidator, BaseModel, Field, HttpUrl, UrlConstraints, model_validator

from app.common.schemas import (
    Id,
    Instant,
    Line100,
    Line200,
    Line300,
    Line500,
    LocalTime,
    Name,
    Patch,
    Strict,
    Summary,
    Title,
    WallClockOrInstant,
    Whole,
)
from app.events import zones
from app.models import EventKind, EventStatus, Institution, RegistrationStatus, Role

ActionNumbers = Annotated[list[Id], Field(min_length=1, max_length=20)]
PriorityAreaNumbers = Annotated[list[Id], Field(min_length=1, max_length=4)]
URL_LENGTH = 2000


def _written_within(url: HttpUrl) -> HttpUrl:
    """The address as it is stored: escaping (a space becomes %20) can lengthen it."""
    written = len(str(url))
    if written > URL_LENGTH:
        raise ValueError(
            f"The address is {written} characters once written as a URL, with its spaces "
            f"and other characters escaped; it may have at most {URL_LENGTH} characters"
        )
    return url


WebUrl = Annotated[
    HttpUrl,
    UrlConstraints(max_length=URL_LENGTH, allowed_schemes=["http", "https"]),
    AfterValidator(_written_within),
]


# Only names from the zone database's list: a key such as "../x" never reaches ZoneInfo.
TimeZoneName = Annotated[
    str,
    Field(max_length=64, description=f"{zones.ACCEPTED}", examples=["Europe/Brussels"]),
    AfterValidator(zones.zone_name),
]


def country_code(code: str) -> str:
    given = code.strip()
    # Two ASCII letters before upper-casing: "ß".upper() is "SS", South Sudan's code.
    two_letters = len(given) == 2 and given.isascii() and given.isalpha()
    if not two_letters or pycountry.countries.get(alpha_2=given.upper()) is None:
        raise ValueError(f"{given!r} is not an ISO 3166 alpha-2 country code such as BE")
    return given.upper()


CountryCode = Annotated[str, AfterValidator(country_code)]


class Venue(Strict):
    name: Name
    address: Line300 | None = None
    city: Line100 | None = None
    country: CountryCode | None = None


class EventTiming(Strict):
    """When and where: shared by event bodies and the scheduling of a seminar.

    `starts_at` and `ends_at` take ISO 8601 with an offset (an instant), or without
    one (a wall-clock time in `timezone`).
    """

    starts_at: WallClockOrInstant
    ends_at: WallClockOrInstant
    timezone: TimeZoneName
    venue: Venue | None = None
    online_url: WebUrl | None = None
    capacity: Whole | None = Field(default=None, ge=1, le=100_000, description="empty: unlimited")

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.venue is None and self.online_url is None:
            raise ValueError("an event needs a venue, an online_url, or both")
        return self


class EventCreate(EventTiming):
    title: Title
    description: Summary = ""
    kind: EventKind | None = Field(
        default=None, description="members: peer_to_peer (the default for them)"
    )
    actions: ActionNumbers
    priority_areas: PriorityAreaNumbers | None = Field(
        default=None, description="default: every priority area the actions serve"
    )
    status: Literal[EventStatus.draft, EventStatus.published] | None = Field(
        default=None,
        description="secretariat only: draft (the default) or published at once; "
        "a member's event is submitted for publication",
    )


class EventUpdate(Patch):
    not_emptied = (
        "title",
        "description",
        "kind",
        "starts_at",
        "ends_at",
        "timezone",
        "actions",
        "priority_areas",
    )

    title: Title | None = None
    description: Summary | None = None
    kind: EventKind | None = Field(
        default=None,
        description="secretariat: peer_to_peer or other; a member's event stays "
        "peer_to_peer. No edit makes or unmakes a joint_seminar: its event is made by "
        "scheduling the agreed seminar",
    )
    starts_at: WallClockOrInstant | None = None
    ends_at: WallClockOrInstant | None = None
    timezone: TimeZoneName | None = None
    venue: Venue | None = None
    online_url: WebUrl | None = None
    capacity: Whole | None = Field(default=None, ge=1, le=100_000)
    actions: ActionNumbers | None = None
    priority_areas: PriorityAreaNumbers | None = Field(
        default=None,
        description="left out: kept while the actions stay the same; with new actions, "
        "every priority area they serve",
    )


class CancelEvent(Strict):
    reason: Line500


class VenueRead(BaseModel):
    name: str
    address: str | None
    city: str | None
    country: str | None


class PersonRead(BaseModel):
    id: int
    name: str


class EventRead(BaseModel):
    id: int
    title: str
    description: str
    kind: EventKind
    status: EventStatus
    seminar_id: int | None = Field(description="the joint seminar this event holds, if any")
    starts_at: Instant
    ends_at: Instant
    timezone: str
    local_starts_at: LocalTime = Field(description="in the event's time zone, with its offset")
    local_ends_at: LocalTime
    venue: VenueRead | None
    online_url: str | None
    capacity: int | None
    registered: int = Field(description="people holding a place")
    waitlisted: int
    actions: list[int]
    priority_areas: list[int]
    host: PersonRead | None
    sequence: int
    created_at: Instant
    updated_at: Instant
    published_at: Instant | None
    cancelled_at: Instant | None
    cancel_reason: str | None
    agenda_confirmed_at: Instant | None
    warnings: list[str] = Field(
        description="what is unusual but accepted, e.g. an event outside the plan's term"
    )
    calendar_url: str = Field(description="the event as an iCalendar file (published events)")
    webcal_url: str = Field(description="the same, as webcal:// for calendar apps")


class Speaker(Strict):
    name: Name
    affiliation: Line200 | None = None


class AgendaItemIn(Strict):
    starts_at: WallClockOrInstant
    ends_at: WallClockOrInstant
    title: Title
    description: Summary = ""
    speakers: list[Speaker] = Field(default_factory=list, max_length=50)


class AgendaIn(Strict):
    items: list[AgendaItemIn] = Field(max_length=200)


class AgendaItemRead(BaseModel):
    starts_at: Instant
    ends_at: Instant
    local_starts_at: LocalTime
    local_ends_at: LocalTime
    title: str
    description: str
    speakers: list[Speaker]


class AgendaRead(BaseModel):
    event_id: int
    items: list[AgendaItemRead]
    confirmed_at: Instant | None
    confirmed_by: PersonRead | None


class RegisteredEvent(BaseModel):
    """What a registration shows of its event: enough to know where to be, and whether
    the event still takes place."""

    id: int
    title: str
    kind: EventKind
    status: EventStatus = Field(description="`cancelled` when the event will not take place")
    starts_at: Instant
    timezone: str
    local_starts_at: LocalTime
    local_ends_at: LocalTime
    venue: VenueRead | None
    online_url: str | None


class Registrant(BaseModel):
    """Who registered, as the event's host and the secretariat see them."""

    id: int
    name: str
    email: str = Field(description="shown to the registrant, the event's host and the secretariat")
    role: Role
    institution: Institution | None = Field(description="for secretariat staff")
    member_state: str | None = Field(description="for CoR members")


class RegistrationRead(BaseModel):
    id: int
    event_id: int
    event: RegisteredEvent
    user: Registrant
    status: RegistrationStatus
    position: int | None = Field(description="place on the waitlist, from 1")
    registered_at: Instant = Field(
        description="when the place was asked for (again, after a cancellation)"
    )
    cancelled_at: Instant | None
    created_at: Instant = Field(description="when the person first registered for the event")
    updated_at: Instant
