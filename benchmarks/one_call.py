"""Under the floor of benchmarks/load.py: a registration as one call of a database
function, on the bare app. It is what "registration as one database function" could
give at most on this machine: the same statements as ``write_floor.py`` (who the token
stands for, the event's row locked, its standing, the registration, its audit entry,
its message in the outbox), run by PostgreSQL inside one PL/pgSQL function, so that a
request makes one round trip and no ``BEGIN`` or ``COMMIT`` of its own.

The function lives in each connection's temporary schema (``pg_temp``), made when the
connection opens: nothing is left in the database. Under READ COMMITTED each statement
of a volatile function takes a new snapshot, so the standing counted after the lock
sees every registration committed before it, as the service's does.

Served by ``load.py`` with ``KEP_DATABASE_URL`` naming the database that the service's
run has just written to: the outbox must hold at least one of its invitations.
"""

import json
import os
from datetime import UTC, datetime
from email.utils import make_msgid
from functools import cache
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Response
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from app.auth.tokens import hash_token
from app.db import make_engine
from benchmarks import write_floor

app = FastAPI()

FUNCTION = """
CREATE FUNCTION pg_temp.register_once(
    digest text, wanted integer, at timestamptz, message json, message_id text
) RETURNS TABLE (code integer, registration integer, status text)
LANGUAGE plpgsql AS $$
DECLARE
    who integer;
    shown record;
    registered bigint;
    last integer;
    own integer;
    chosen text;
    made integer;
BEGIN
    SELECT t.user_id INTO who FROM api_tokens t
    WHERE t.token_hash = digest AND t.revoked_at IS NULL;
    IF who IS NULL THEN
        RETURN QUERY SELECT 401, NULL::integer, NULL::text;
        RETURN;
    END IF;
    SELECT e.status, e.starts_at, e.capacity INTO shown FROM events e
    WHERE e.id = wanted FOR UPDATE;
    IF NOT FOUND OR shown.status <> 'published' OR shown.starts_at <= at THEN
        RETURN QUERY SELECT 409, NULL::integer, NULL::text;
        RETURN;
    END IF;
    SELECT count(*) FILTER (WHERE r.status = 'registered'), max(r.queue_number),
           max(r.id) FILTER (WHERE r.user_id = who)
    INTO registered, last, own FROM registrations r WHERE r.event_id = wanted;
    IF own IS NOT NULL THEN
        RETURN QUERY SELECT 200, own, NULL::text;
        RETURN;
    END IF;
    chosen := CASE WHEN shown.capacity IS NOT NULL AND registered >= shown.capacity
                   THEN 'waitlisted' ELSE 'registered' END;
    INSERT INTO registrations
        (event_id, user_id, status, created_at, registered_at, updated_at, queue_number)
    VALUES (wanted, who, chosen, at, at, at, coalesce(last, 0) + 1)
    RETURNING id INTO made;
    INSERT INTO audit_entries (at, actor_id, action, entity_type, entity_id, before, after)
    VALUES (at, who, 'registration.created', 'registration', made, NULL,
            json_build_object('event_id', wanted, 'user_id', who, 'status', chosen));
    INSERT INTO outbox (
        idempotency_key, kind, user_id, recipient, recipient_name, subject, body,
        optional, calendar, calendar_method, calendar_uid, calendar_sequence,
        message_id, status, attempts, next_attempt_at, created_at
    ) VALUES (
        'one-call:' || made, message->>'kind', who,
        'member' || who || '@bench.example.eu', 'Bench Member',
        message->>'subject', message->>'body', false, message->>'calendar',
        message->>'calendar_method', message->>'calendar_uid',
        (message->>'calendar_sequence')::integer, message_id, 'pending', 0, at, at
    );
    RETURN QUERY SELECT 201, made, chosen;
END $$
"""

CALL = text("SELECT * FROM pg_temp.register_once(:digest, :event_id, :at, :message, :message_id)")


@cache
def engine() -> Engine:
    made = make_engine(os.environ["KEP_DATABASE_URL"], pool_size=10)

    @event.listens_for(made, "connect")
    def define(connection: Any, _record: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(FUNCTION)
        connection.commit()

    return made.execution_options(isolation_level="AUTOCOMMIT")


@cache
def message() -> str:
    """The copied invitation of ``write_floor.py``, as the function's JSON argument."""
    return json.dumps(write_floor.written_message())


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}


@app.post("/events/{event_id}/registrations", status_code=201)
def register(event_id: int, response: Response, authorization: str = Header()) -> dict:
    values = {
        "digest": hash_token(authorization.removeprefix("Bearer ")),
        "event_id": event_id,
        "at": datetime.now(UTC),
        "message": message(),
        "message_id": make_msgid(domain="bench.example.eu"),
    }
    with engine().connect() as connection:
        code, registration, status = connection.execute(CALL, values).one()
    if code == 401:
        raise HTTPException(401, "unknown token")
    if code == 409:
        raise HTTPException(409, "not open for registration")
    response.status_code = code
    return {"id": registration, "event_id": event_id, "status": status}


if __name__ == "__main__":
    from benchmarks.bare_app import serve

    serve("benchmarks.one_call:app")
