"""Conditional requests and answers written once: ETags, ``If-None-Match``, JSON bodies.

A read's ETag is weak and derived from what the answer shows: a digest of the values
the body is made from, as the database gave them in this request. So two processes, or
two viewers, that would write the same body give the same tag, a change to anything the
body shows gives another, and nothing is remembered between requests that another
process could contradict. A matching ``If-None-Match`` is answered 304 before any body
is built.

Bodies are serialised once, by pydantic, straight to the bytes FastAPI itself would
send for the route's response model; the route then returns them as they are instead
of having them validated again (in a worker thread, for a synchronous endpoint).

Answers are kept in memory, keyed by the state of the data as the database reports it
in that request (``app.db.data_state``): while no change has been committed anywhere,
a request for the same thing is answered from memory after one statement, and a 304
needs nothing else.
"""

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.common.cache import BoundedCache
from app.data_state import current_state

# The shape of the bodies: a release that writes them differently gives other tags.
FORMAT = f"kep {__version__} answers 1"


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110's weak comparison: ``W/"x"`` and ``"x"`` match, as does ``*``."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or any(tag.removeprefix("W/") == bare for tag in tags)


def weak_etag(*parts: Any) -> str:
    """A weak ETag from the values an answer is made of (their ``repr``)."""
    digest = hashlib.blake2b(repr((FORMAT, parts)).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def not_modified(request: Request, etag: str) -> bool:
    if_none_match = request.headers.get("if-none-match")
    return if_none_match is not None and matches(if_none_match, etag)


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def json_bytes(model: Any, value: Any) -> bytes:
    """``value`` serialised as the response model ``model`` is: the bytes FastAPI sends."""
    return _adapter(model).dump_json(value)


def _answer(etag: str, body: bytes | None) -> Response:
    """The body as JSON, or 304 without one; both with the ETag."""
    headers = {"ETag": etag, "Vary": "Authorization"}
    if body is None:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@dataclass(frozen=True, slots=True)
class Made:
    """A read's answer before its body is written: the ETag, what builds the body, and,
    for an answer that changes as time passes, the moment it stops being true."""

    etag: str
    build: Callable[[], Any]
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer kept in memory: its ETag, and its body unless only a 304 was needed."""

    etag: str
    body: bytes | None
    valid_until: datetime | None

    def holds_at(self, now: datetime | None) -> bool:
        return self.valid_until is None or (now is not None and now < self.valid_until)


# Besides its body, what an entry costs: its key (the snapshot's text) and the objects.
KEPT_OVERHEAD = 512


class AnswerCache(BoundedCache[Hashable, Kept]):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, size=lambda kept: len(kept.body or b"") + KEPT_OVERHEAD)


async def kept_json(
    request: Request,
    session: Session,
    key: Hashable,
    model: Any,
    read: Callable[[], Made],
    now: datetime | None = None,
) -> Response:
    """A read's answer as JSON with its ETag, or 304 when the client's copy is current.

    ``key`` names the read and must hold everything the answer depends on besides the
    database's rows: the caller's identity as far as it matters, the request's
    parameters, and any value read before this call (such as the caller's own row).
    ``read`` runs the read's statements (in a worker thread); its answer is kept under
    the key and the data's state, so the next request for it while nothing has changed
    reads the state alone, shared with the requests asking at the same moment, and
    needs no worker thread. An answer that time alters says until when it holds
    (``Made.valid_until``, compared with ``now``).
    """
    cache: AnswerCache = request.app.state.answers
    stored = (key, await current_state(request, session))
    kept = cache.get(stored)
    if kept is not None and not kept.holds_at(now):
        kept = None
    if kept is not None:
        if not_modified(request, kept.etag):
            return _answer(kept.etag, None)
        if kept.body is not None:
            return _answer(kept.etag, kept.body)
    made, body = await run_in_threadpool(_made, request, model, read)
    if body is not None or kept is None:
        cache.put(stored, Kept(made.etag, body, made.valid_until))
    return _answer(made.etag, body)


def _made(request: Request, model: Any, read: Callable[[], Made]) -> tuple[Made, bytes | None]:
    """The answer's ETag, and its body unless the client's copy is current."""
    made = read()
    if not_modified(request, made.etag):
        return made, None
    return made, json_bytes(model, made.build())
