"""The floor for the registrations of benchmarks/load.py: a registration's statements
alone, on the bare app (FastAPI, one synchronous endpoint, served the same way), with
SQLAlchemy Core and the service's own tables and engine, and nothing else.

A request here does what a registration must do in the database, in one transaction:
who the token stands for, the event's row locked, its standing (places taken, the
queue's last number, the person's own registration), the registration, its audit
entry, its message in the outbox, the commit. What it leaves out is what the service
adds around them: the ORM's unit of work, the message written for the person (the
body, the invitation with its SEQUENCE past any sent before; here one written message
of the service is copied), the token's last use, the feeds' kept parts, the answer's
model, the middleware. So the gap between the two rows is what a write path without
those could win at most, and this row is what the machine gives with none of them.

Served by ``load.py`` with ``KEP_DATABASE_URL`` naming the database that the service's
run has just written to: the outbox must hold at least one of its invitations.
"""

import os
from datetime import UTC, datetime
from email.utils import make_msgid
from functools import cache
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Response
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Engine

from app.auth.tokens import hash_token
from app.db import make_engine
from app.events.registrations import _standing_statement
from app.models import (
    ApiToken,
    AuditEntry,
    Event,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
)
from app.models.notifications import MessageStatus

app = FastAPI()

WHO = select(ApiToken.user_id).where(
    ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None)
)
LOCKED = (
    select(Event.status, Event.starts_at, Event.capacity)
    .where(Event.id == bindparam("event_id"))
    .with_for_update()
)
STANDING = _standing_statement()  # the service's own: one statement, the same as it sends
NEW = insert(Registration).returning(Registration.id)
MESSAGE_COLUMNS = (
    OutboxMessage.kind,
    OutboxMessage.subject,
    OutboxMessage.body,
    OutboxMessage.calendar,
    OutboxMessage.calendar_method,
    OutboxMessage.calendar_uid,
    OutboxMessage.calendar_sequence,
)


@cache
def engine() -> Engine:
    return make_engine(os.environ["KEP_DATABASE_URL"], pool_size=10)


@cache
def written_message() -> dict[str, Any]:
    """One invitation the service wrote, copied into every message of this app."""
    with engine().connect() as connection:
        row = connection.execute(
            select(*MESSAGE_COLUMNS)
            .where(OutboxMessage.calendar.is_not(None))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).one()
    return dict(row._mapping)


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}


@app.post("/events/{event_id}/registrations", status_code=201)
def register(event_id: int, response: Response, authorization: str = Header()) -> dict:
    now = datetime.now(UTC)
    message = written_message()
    with engine().begin() as connection:
        digest = hash_token(authorization.removeprefix("Bearer "))
        user_id = connection.execute(WHO, {"digest": digest}).scalar()
        if user_id is None:
            raise HTTPException(401, "unknown token")
        event = connection.execute(LOCKED, {"event_id": event_id}).one_or_none()
        if event is None or event.status != EventStatus.published or event.starts_at <= now:
            raise HTTPException(409, "not open for registration")
        values = {"event_id": event_id, "user_id": user_id}
        registered, last, own = connection.execute(STANDING, values).one()
        if own is not None:
            response.status_code = 200
            return {"id": own}
        full = event.capacity is not None and registered >= event.capacity
        status = RegistrationStatus.waitlisted if full else RegistrationStatus.registered
        registration = connection.execute(
            NEW,
            {
                **values,
                "status": status,
                "created_at": now,
                "registered_at": now,
                "updated_at": now,
                "queue_number": (last or 0) + 1,
            },
        ).scalar_one()
        connection.execute(
            insert(AuditEntry),
            {
                "at": now,
                "actor_id": user_id,
                "action": "registration.created",
                "entity_type": "registration",
                "entity_id": registration,
                "before": None,
                "after": {**values, "status": status.value},
            },
        )
        connection.execute(
            insert(OutboxMessage),
            {
                **message,
                "idempotency_key": f"floor:{registration}",
                "user_id": user_id,
                "recipient": f"member{user_id}@bench.example.eu",
                "recipient_name": "Bench Member",
                "optional": False,
                "message_id": make_msgid(domain="bench.example.eu"),
                "status": MessageStatus.pending,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    return {"id": registration, "event_id": event_id, "status": status.value}


if __name__ == "__main__":
    from benchmarks.bare_app import serve

    serve("benchmarks.write_floor:app")
