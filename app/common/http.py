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
in that request (``app.data_state``): while no change has been committed anywhere,
a request for the same thing is answered from memory after one statement, and a 304
needs nothing else.

The very same request asked again (path, parameters and credentials byte for byte) is
answered in front of the routes (``KeptFront``): while the state of the data, the time
and the caller's last recorded use of their token leave its answer true, it is sent
without routing the request or solving its dependencies, with the headers the route
gives it; the middleware outside it log, count and label it as they do every request.
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
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.common.cache import BoundedCache
from app.data_state import STATE, STATE_FAILURE, current_state, shares_states

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


def strong_etag(*parts: Any) -> str:
    """A strong ETag from the values an answer is made of, for an answer written the same
    way byte for byte: what ``If-Match`` compares."""
    return weak_etag(*parts).removeprefix("W/")


def strong_match(if_match: str, etag: str) -> bool:
    """RFC 9110's strong comparison, as ``If-Match`` makes it: a weak tag never matches."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or etag in tags


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
    if kept is None or (kept.body is None and not not_modified(request, kept.etag)):
        made, body = await run_in_threadpool(_made, request, model, read)
        kept = Kept(made.etag, body, made.valid_until)
        cache.put(stored, kept)
    _to_front(request, stored[1], kept)
    # Without a body only when the client's copy is current (``_made`` wrote none).
    return _answer(kept.etag, None if not_modified(request, kept.etag) else kept.body)


def _made(request: Request, model: Any, read: Callable[[], Made]) -> tuple[Made, bytes | None]:
    """The answer's ETag, and its body unless the client's copy is current."""
    made = read()
    if not_modified(request, made.etag):
        return made, None
    return made, json_bytes(model, made.build())


# -- the same request asked again, answered in front of the routes --------------------------


@dataclass(frozen=True, slots=True)
class Fronted:
    """An answer kept for one exact request: the state of the data it was true in, the
    route that gave it, until when the caller's last use of their token was recorded
    recently enough (None when no token was sent), and the size of the request's key."""

    state: Hashable
    kept: Kept
    route: Any
    caller_fresh_until: datetime | None
    key_bytes: int


class FrontCache(BoundedCache[Hashable, Fronted]):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            max_bytes,
            size=lambda fronted: len(fronted.kept.body or b"") + fronted.key_bytes + KEPT_OVERHEAD,
        )


# A longer path and query string is answered by the route each time: repeated parameters
# must not let one client fill the front with one answer under ever new keys.
LONGEST_FRONT_KEY = 1024


# Where ``optional_user`` says until when the caller's token needs no new last use.
CALLER_FRESH_UNTIL = "kep_caller_fresh_until"


def request_key(scope: Scope) -> tuple[str, str, bytes, bytes | None] | None:
    """The request as the answer depends on it: the path (with the prefix it is served
    under), the raw parameters and the credentials (a digest of them; none kept in
    memory). None when it cannot be told apart from another by these (two
    ``Authorization`` headers), or when it is too long to keep."""
    credentials = [value for name, value in scope["headers"] if name == b"authorization"]
    if len(credentials) > 1:
        return None
    root, path, query = scope.get("root_path", ""), scope["path"], scope["query_string"]
    if len(root) + len(path) + len(query) > LONGEST_FRONT_KEY:
        return None
    digest = hashlib.blake2b(credentials[0], digest_size=16).digest() if credentials else None
    return root, path, query, digest


def _to_front(request: Request, state: Hashable, kept: Kept) -> None:
    if request.scope["method"] != "GET" or not shares_states(request.app):
        return  # a session bound to one connection reads states of its own
    key = request_key(request.scope)
    if key is not None:
        fresh_until = getattr(request.state, CALLER_FRESH_UNTIL, None)
        size = len(key[0]) + len(key[1]) + len(key[2])
        fronted = Fronted(state, kept, request.scope.get("route"), fresh_until, size)
        request.app.state.front.put(key, fronted)


class KeptFront:
    """Answers a GET whose very request was answered before, from memory, while that
    answer holds: in the current state of the data, at the application's time, and
    while the caller's token needs no new last use. Anything else goes on to the routes,
    with the state read here (so that the route reads it once)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            answer = await _front_answer(scope)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _front_answer(scope: Scope) -> Response | None:
    app_state = scope["app"].state
    key = request_key(scope)
    fronted = app_state.front.get(key) if key is not None else None
    if fronted is None:
        return None
    try:
        state = await app_state.data_states.read()
    except Exception as error:
        # The route answers the failure as it answers its own (a 503), without a
        # second wait for the database.
        scope.setdefault("state", {})[STATE_FAILURE] = error
        return None
    scope.setdefault("state", {})[STATE] = state
    now = app_state.clock()
    fresh = fronted.caller_fresh_until is None or now < fronted.caller_fresh_until
    if fronted.state != state or not fronted.kept.holds_at(now) or not fresh:
        return None
    kept = fronted.kept
    if_none_match = Headers(scope=scope).get("if-none-match")
    current = if_none_match is not None and matches(if_none_match, kept.etag)
    if not current and kept.body is None:
        return None  # only a 304 was needed before: the body is the route's to write
    scope["route"] = fronted.route  # for the log and the metrics, as routing sets it
    return _answer(kept.etag, None if current else kept.body)


# -- where a 201's resource is -----------------------------------------------------------

# A 201's header in the API document, for a create whose resource is read at an address
# of its own (RFC 9110, 10.2.2).
LOCATED: dict[int | str, dict[str, Any]] = {
    201: {
        "headers": {
            "Location": {
                "description": "the address of what was made, under the public base URL",
                "schema": {"type": "string", "format": "uri"},
            }
        }
    }
}


def located(response: Response, base_url: str, path: str) -> None:
    """Say in a 201's ``Location`` where what it made is read (``path``)."""
    response.headers["Location"] = base_url + path
