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
"""

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from app import __version__

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


def conditional_json(
    request: Request, etag: str, model: Any, build: Callable[[], Any], status_code: int = 200
) -> Response:
    """304 when the client's copy is current, else the body ``build`` makes, as JSON;
    both with the ETag."""
    headers = {"ETag": etag, "Vary": "Authorization"}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(
        json_bytes(model, build()),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
