"""Field types and shapes shared by the request and response bodies."""

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic import Strict as Unconverted

from app.common.paging import Paged, PageRequest

# Characters that change the direction of the text after them (embeddings, overrides,
# isolates): they can make a text read otherwise than it is written.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible formatting characters that are ordinary parts of text: the soft hyphen, the
# joiners of emoji sequences and of Persian or Indic words, and the marks of
# right-to-left text. Other format characters (zero-width spaces, byte order marks, tag
# characters) only hide things.
_PART_OF_TEXT = frozenset("\u00ad\u200c\u200d\u200e\u200f\u061c")
# Line endings as Windows and old Macs write them, read as newlines in free text.
_LINE_ENDINGS = ("\r\n", "\r")


def _refusal(char: str, *, multi_line: bool) -> str | None:
    """Why ``char`` has no place in a text, or None if it has."""
    category = unicodedata.category(char)
    if char in _REORDERING:
        return "must not contain characters that reorder text"
    if category == "Cs":
        return "must not contain lone surrogates (an escape such as \\ud800 alone)"
    if multi_line:
        if category == "Cc" and char not in "\n\r\t":
            return "must not contain control characters"
    elif category in ("Cc", "Zl", "Zp"):
        return "must be a single line without control characters"
    if category == "Cf" and char not in _PART_OF_TEXT:
        return "must not contain invisible formatting characters"
    return None


def _check_characters(value: str, *, multi_line: bool) -> None:
    """Refuse the first character that has no place in ``value``, saying which and where
    (counted from 1 in the text as sent)."""
    for index, char in enumerate(value):
        reason = _refusal(char, multi_line=multi_line)
        if reason is not None:
            name = unicodedata.name(char, "")
            named = f" ({name})" if name else ""
            raise ValueError(f"{reason}: U+{ord(char):04X} at position {index + 1}{named}")


def single_line(value: str) -> str:
    """``value``, if it is one line without control characters (else ValueError naming
    the first character that is not)."""
    _check_characters(value, multi_line=False)
    return value


def free_text(value: str) -> str:
    """``value`` with its line endings written as newlines, if it has no control
    characters besides them and tabs (else ValueError naming the first)."""
    _check_characters(value, multi_line=True)
    for ending in _LINE_ENDINGS:
        value = value.replace(ending, "\n")
    return value


def _line(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


def _text(check: Callable[[str], str]) -> BeforeValidator:
    # Before trimming and counting: positions are those of the text as sent, and a line
    # ending counts as the one character it becomes.
    return BeforeValidator(lambda value: check(value) if isinstance(value, str) else value)


_SINGLE_LINE = _text(single_line)
_FREE_TEXT = _text(free_text)

# Trimmed single lines of 1 to n characters.
Title = Annotated[str, _line(200), _SINGLE_LINE]
Name = Annotated[str, _line(200), _SINGLE_LINE]
Line100 = Annotated[str, _line(100), _SINGLE_LINE]
Line200 = Annotated[str, _line(200), _SINGLE_LINE]
Line300 = Annotated[str, _line(300), _SINGLE_LINE]
Line500 = Annotated[str, _line(500), _SINGLE_LINE]
# Free text (a summary, a description): newlines and tabs allowed, other control
# characters not; Windows and old Mac line endings are read as newlines.
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), _FREE_TEXT]


T = TypeVar("T")

# Identifiers and numbers are 32-bit integers in the database; larger ones are refused
# as invalid input before they reach it.
MAX_ID = 2_147_483_647
# Numbers and yes-or-no values of a body only as JSON sends them: lax validation would
# take "5" or 5.0 as 5, true as 1, and "yes" or 1 as true.
Whole = Annotated[int, Unconverted()]
YesOrNo = Annotated[bool, Unconverted()]
Id = Annotated[Whole, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

# Times the service plans with; checked before any conversion, so that no arithmetic on
# an absurd date (year 1, year 9999) can overflow.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def written_out(value: Any) -> Any:
    """Dates and times come as ISO 8601 text. A number is refused: it would be read as
    seconds since 1970 (0 is 1970-01-01), which nobody sending a date means."""
    if isinstance(value, date):  # made in code, not sent
        return value
    text = value.strip().lstrip("+-") if isinstance(value, str) else None
    if text is None or text.replace(".", "", 1).isdigit():
        raise ValueError(
            "dates are written in ISO 8601, such as 2027-03-10 or 2027-03-10T09:30, "
            f"not as numbers; {value!r} is not"
        )
    return value


WrittenOut = BeforeValidator(written_out)


def plausible(moment: datetime) -> datetime:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


# A time as people type it: with an offset (an instant), or without one (a wall-clock
# time, read later in the time zone it belongs to).
WallClockOrInstant = Annotated[datetime, WrittenOut, AfterValidator(plausible)]
Day = Annotated[date, WrittenOut]


def utc_text(moment: datetime) -> str:
    """An instant as every answer writes it: UTC, to the second, with a Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an instant is answered")
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def local_text(moment: datetime) -> str:
    """A local time as every answer writes it: to the second, with its numeric offset
    (``+00:00`` in Lisbon in winter, never ``Z``, which reads as UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where a local time is answered")
    return moment.replace(microsecond=0).isoformat()


# The two ways an answer gives a time. Every datetime in a response body is one of them.
Instant = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "an instant in UTC, to the second",
            "examples": ["2027-03-10T08:30:00Z"],
        }
    ),
]
LocalTime = Annotated[
    datetime,
    PlainSerializer(local_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "a local time with its numeric UTC offset, to the second",
            "examples": ["2027-03-10T09:30:00+01:00"],
        }
    ),
]


class Strict(BaseModel):
    """A request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Patch(Strict):
    """A partial update: what is left out stays as it is. An update that changes nothing
    (the empty one included) answers the resource as it stands and records nothing.

    The fields named in ``not_emptied`` may be changed but never set to null.
    """

    not_emptied: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            emptied = [name for name in cls.not_emptied if name in data and data[name] is None]
            if emptied:
                raise ValueError(f"{', '.join(emptied)} may be changed but not emptied")
        return data


class Communication(Strict):
    """The registered communication between CoR SEDEC and DG RTD that agreed a change."""

    reference: Line200 = Field(examples=["Ares(2026)1234567"])
    date: Day


class Page(BaseModel, Generic[T]):
    """One page of a list: every list that can grow answers this shape."""

    items: list[T]
    total: int = Field(description="how many items the whole list holds")
    limit: int = Field(description="at most this many items per page")
    offset: int = Field(description="how many items were skipped")


def page_of(item_type: type[T], items: list[T], *, total: int, page: PageRequest) -> Page[T]:
    """The answer to a list request: its page of items and where the page lies."""
    page_type = Page[item_type]  # type: ignore[valid-type]
    return page_type(items=items, total=total, limit=page.limit, offset=page.offset)


def presented_page(
    item_type: type[T], found: Paged[Any], present: Callable[[Any], T], page: PageRequest
) -> Page[T]:
    """A page of rows as the answer shows them: each row presented, with the total."""
    return page_of(item_type, [present(row) for row in found.rows], total=found.total, page=page)
