"""A limit on the links anyone may have mailed: sign-ups and token recoveries, counted
per client address and hour in the database (``LinkRequest``).

Each request adds one to its client's count for the hour, in the request's own
transaction: a request over the limit is refused and rolled back, so it neither sends
nor counts, and requests arriving together take turns on the count's row (PostgreSQL
locks it as it is updated; SQLite's write lock is taken as the transaction begins).
The hours are whole clock hours, so a client may ask for twice the limit across the
turn of an hour, never more."""

import ipaddress
import math
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.orm import Session

from app.auth.deps import ClockDep, SessionDep, SettingsDep
from app.errors import TooManyRequests
from app.models import LinkRequest
from app.models.base import insert_for

HOUR = timedelta(hours=1)


def client_key(host: str | None) -> str:
    """Whom a request is counted against: its IPv4 address, or the /64 network of its
    IPv6 address (one machine is usually given a whole /64, and may use any address
    in it). An IPv6 address that carries an IPv4 one counts as that: IPv4-mapped, 6to4
    (whose host holds a /48 for its IPv4 address) and Teredo (whose client chooses the
    relay and flags that fill its /64). A host that is not an address (a test client's
    name) counts as it is."""
    if host is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if carried is not None:
            return str(carried)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@lru_cache(maxsize=2)
def _count_statement(dialect: str) -> Any:
    statement = insert_for(dialect)(LinkRequest)
    return statement.on_conflict_do_update(
        index_elements=[LinkRequest.client, LinkRequest.hour],
        set_={"count": LinkRequest.count + 1},
    ).returning(LinkRequest.count)


# Rows of hours that are over deleted by one request: after a flood from many addresses,
# the first requests of the next hour share the deleting.
FORGET_AT_ONCE = 1000


@lru_cache(maxsize=1)
def _forget_statement() -> Any:
    """Up to ``FORGET_AT_ONCE`` rows of hours that are over, but for rows another request
    is deleting (PostgreSQL): two requests deleting the same rows in different orders
    would deadlock."""
    over = (
        select(LinkRequest.client, LinkRequest.hour)
        .where(LinkRequest.hour < bindparam("hour"))
        .limit(FORGET_AT_ONCE)
        .with_for_update(skip_locked=True)
    )
    return (
        delete(LinkRequest)
        .where(tuple_(LinkRequest.client, LinkRequest.hour).in_(over))
        .execution_options(synchronize_session=False)
    )


def count_one(*, session: Session, client: str, now: datetime, per_hour: int) -> None:
    """Count one request of ``client`` at ``now``; TooManyRequests past ``per_hour``."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    session.execute(_forget_statement(), {"hour": hour})
    statement = _count_statement(session.get_bind().dialect.name)
    values = {"client": client, "hour": hour, "count": 1}
    count = session.execute(statement, values).scalar_one()
    if count > per_hour:
        wait = math.ceil((hour + HOUR - now).total_seconds())
        raise TooManyRequests(
            f"This IP address has asked for {per_hour} sign-ups and token recoveries an hour "
            f"already, the most it may; try again in {_in_words(wait)}",
            retry_after=wait,
        )


def _in_words(seconds: int) -> str:
    """A wait as ``Retry-After`` counts it: in seconds under a minute (the hour's last
    seconds), else in minutes, rounded up."""
    number, unit = (seconds, "second") if seconds < 60 else (math.ceil(seconds / 60), "minute")
    return f"{number} {unit}" + ("" if number == 1 else "s")


def one_more_link_request(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> None:
    """The dependency of the routes that mail a link to an address typed in."""
    count_one(
        session=session,
        client=client_key(request.client.host if request.client else None),
        now=clock(),
        per_hour=settings.link_requests_per_hour,
    )
