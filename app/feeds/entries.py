"""Each event's VEVENT, serialised once per version of the event and kept in the database.

A part's version says what it was made from: the event's change (``sequence`` and
``updated_at``, which every change that alters its lines moves), the catalogue's latest
change (the actions' titles are in the text), the public address the links point to,
and the code and library that wrote it. The request that changes a public event
serialises its VEVENT and keeps it as its transaction ends; a feed takes the stored
parts whose version matches and serialises only those still missing or stale (an empty
store, a new release, a catalogue change, a person's own variants). The versions are
read from the database, so every server process agrees on them.
"""

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import icalendar
from sqlalchemy import Integer, String, Text, bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.feeds import links, presenters, versions, vevents, zones
from app.feeds.queries import EntryRow
from app.models import CHANGED_EVENTS, EntryVariant, FeedEntry

log = logging.getLogger(__name__)


def _code_version() -> str:
    # A new release that writes different lines makes every stored part stale.
    digest = hashlib.sha256(icalendar.__version__.encode())
    for module in (presenters, zones, links):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


def made_with(*, catalogue: datetime | None, base_url: str) -> str:
    """What every part of one feed is made with besides its event: the code and library,
    the public address, the catalogue's version."""
    made = "|".join([CODE_VERSION, base_url, catalogue.isoformat() if catalogue else ""])
    return hashlib.sha256(made.encode()).hexdigest()[:16]


def part_version(row: EntryRow, made: str) -> str:
    return _version(made, row.variant, row.sequence, row.updated_at)


def _version(made: str, variant: EntryVariant, sequence: int, updated_at: datetime) -> str:
    return f"{made}|{variant.value}|{sequence}|{updated_at.isoformat()}"


def is_current(row: EntryRow, made: str) -> bool:
    """Whether the row's stored part is the one its event would be serialised as now."""
    return row.stored_vevent is not None and row.stored_version == part_version(row, made)


def current_parts(
    session: Session,
    rows: Sequence[EntryRow],
    *,
    catalogue: datetime | None,
    base_url: str,
) -> list[bytes]:
    """The VEVENT of every row, in order: stored ones whose version matches, the others
    serialised now and stored for the next feed that holds them."""
    common = made_with(catalogue=catalogue, base_url=base_url)
    stale = {
        (row.event_id, row.variant): part_version(row, common)
        for row in rows
        if not is_current(row, common)
    }
    made = _serialise(session, stale, base_url=base_url) if stale else {}
    return [
        (made.get((row.event_id, row.variant)) or row.stored_vevent or "").encode() for row in rows
    ]


def _serialise(
    session: Session, stale: dict[tuple[Any, Any], str], *, base_url: str
) -> dict[tuple[Any, Any], str]:
    events = {
        event.id: event
        for event in vevents.events_for_entries(session, sorted({key[0] for key in stale}))
    }
    made = {
        (event_id, variant): presenters.event_component(
            events[event_id], base_url=base_url, variant=variant
        )
        .to_ical()
        .decode()
        for event_id, variant in stale
    }
    _store(
        session,
        [
            {"event_id": event_id, "variant": variant, "version": version, "vevent": made[key]}
            for key, version in sorted(stale.items())
            for event_id, variant in [key]
        ],
    )
    return made


def _store(session: Session, entries: list[dict[str, Any]]) -> None:
    """Insert or replace, in key order: two processes storing the same parts at once
    wait for each other instead of deadlocking."""
    if not entries:
        return
    entries = sorted(entries, key=lambda entry: (entry["event_id"], entry["variant"]))
    if session.get_bind().dialect.name == "postgresql":
        columns = ("event_id", "variant", "version", "vevent")
        session.connection().execute(
            _postgresql_store(), {name: [entry[name] for entry in entries] for name in columns}
        )
        return
    statement = sqlite.insert(FeedEntry)
    statement = statement.on_conflict_do_update(
        index_elements=[FeedEntry.event_id, FeedEntry.variant],
        set_={"version": statement.excluded.version, "vevent": statement.excluded.vevent},
    )
    session.connection().execute(statement, entries)  # one batched statement, no entities


@lru_cache(maxsize=1)
def _postgresql_store() -> Any:
    """One statement for any number of parts: four arrays, unnested into rows."""
    arrays = [
        func.unnest(bindparam(name, type_=postgresql.ARRAY(type_)))
        for name, type_ in (
            ("event_id", Integer()),
            ("variant", String()),
            ("version", String()),
            ("vevent", Text()),
        )
    ]
    statement = postgresql.insert(FeedEntry).from_select(
        ["event_id", "variant", "version", "vevent"], select(*arrays)
    )
    return statement.on_conflict_do_update(
        index_elements=[FeedEntry.event_id, FeedEntry.variant],
        set_={"version": statement.excluded.version, "vevent": statement.excluded.vevent},
    )


# -- kept when the event changes -------------------------------------------------------


def keep_public_parts(session: Session, event_ids: list[int], *, base_url: str) -> None:
    """Serialise the public VEVENT of events that have just changed and keep it, in the
    transaction that changed them: the next poll of any feed finds them current."""
    catalogue = session.connection().execute(select(versions.catalogue_changed())).scalar()
    common = made_with(catalogue=catalogue, base_url=base_url)
    _store(
        session,
        [
            {
                "event_id": event.id,
                "variant": EntryVariant.public,
                "version": _version(common, EntryVariant.public, event.sequence, event.updated_at),
                "vevent": presenters.event_component(event, base_url=base_url).to_ical().decode(),
            }
            for event in vevents.events_for_entries(session, event_ids)
        ],
    )


def _keep_changed_parts(session: Session) -> None:
    session.flush()  # so that every change is noted, and read back as it now stands
    changed = session.info.pop(CHANGED_EVENTS, None)
    settings = session.info.get("settings")
    if not changed or settings is None:
        return  # a session outside a request (a script): the feeds make them when polled
    ids = sorted({event.id for event in changed})
    try:
        with session.begin_nested():
            keep_public_parts(session, ids, base_url=settings.base_url)
    except Exception:
        # Keeping them is a head start, not a duty: a change must never fail for it.
        log.exception("The VEVENTs of events %s were not kept; feeds make them when polled", ids)


# Before the feeds' clocks move, which is the very last step of the transaction.
event.listen(Session, "before_commit", _keep_changed_parts, insert=True)
