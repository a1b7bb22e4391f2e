"""ASGI middleware: what every request goes through before and after the routes."""

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import REQUEST_ID, loggable_path


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so that body parsing lets it through."""


class BodySizeLimit:
    """Answers 413 when a body is larger than ``max_bytes``.

    A declared ``Content-Length`` is refused at once; a chunked body is counted as it
    arrives and refused as soon as it passes the cap, so it is never buffered whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(413, self._detail())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    def _detail(self) -> str:
        return f"The request body is larger than the limit of {self.max_bytes} bytes"

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self._detail()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# -- methods ----------------------------------------------------------------------------

PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _answers(route: BaseRoute, probe: Scope) -> bool:
    if route.matches(probe)[0] != Match.FULL:
        return False
    # A mount of files matches every method; the files answer GET (and HEAD) alone.
    return probe["method"] == "GET" or not (
        isinstance(route, Mount) and isinstance(route.app, StaticFiles)
    )


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods the application answers at the scope's path; empty for an unknown path.

    Each method is tried against the routes as the router would try it, so the answer
    holds however the routes are split across routers.
    """
    # Asked from inside a mount (its 405), the scope's root is the mount's: the routes
    # are tried from the application's own root.
    scope = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    found = []
    for method in PROBED:
        probe = {**scope, "method": method}
        if any(_answers(route, probe) for route in routes):
            found.append(method)
    if "GET" in found:
        found.insert(1, "HEAD")
    return [*found, "OPTIONS"] if found else []


class HeadAndOptions:
    """``HEAD`` wherever ``GET`` answers (load balancers probe ``/health`` with it), and
    ``OPTIONS`` answered with the methods a path allows.

    A ``HEAD`` request is served as ``GET`` with the body left out: the status and the
    headers, ``Content-Length`` included, are those of the ``GET``.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":

            async def send_without_body(message: Message) -> None:
                if message["type"] == "http.response.body":
                    message = {**message, "body": b""}
                await send(message)

            # A scope of its own: the server reads the method of the one it gave as it
            # sends, and leaves the body out of a HEAD's answer itself. What routing
            # finds (the route) is seen outside.
            inner = {**scope, "method": "GET"}
            try:
                await self.app(inner, receive, send_without_body)
            finally:
                if "route" in inner:
                    scope["route"] = inner["route"]
            return
        allowed = allowed_methods(self.routes, scope)
        if not allowed:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", ", ".join(allowed).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})


# -- request ids, access logs and metrics ---------------------------------------------------

access_log = logging.getLogger("kep.access")
error_log = logging.getLogger("kep.errors")
# A request id a client or proxy sends is kept if it looks like one; otherwise, and when
# none is sent, the service makes one.
REQUEST_ID_FORM = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestLog:
    """Gives every request an id (``X-Request-ID``, kept from the client or made), writes
    one access log line per request (method, path without secrets, status, duration),
    counts it in the metrics, and answers a JSON 500 for any error nothing else caught."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if REQUEST_ID_FORM.fullmatch(sent) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        status = 500
        answering = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answering
            if message["type"] == "http.response.start":
                status, answering = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unexpected error")
            if answering:
                raise
            await _answer(send_with_id, 500, "Something went wrong on the server; it is logged")
        finally:
            duration = time.perf_counter() - started
            # The template as documented (`/events/{event_id}`), without its converters.
            route = getattr(scope.get("route"), "path_format", None) or "unmatched"
            counted_as = metrics.method_label(method)
            metrics.REQUESTS.labels(counted_as, route, str(status)).inc()
            metrics.LATENCY.labels(counted_as, route).observe(duration)
            access_log.info(
                "%s %s %s",
                method,
                loggable_path(scope["path"], scope.get("query_string", b"")),
                status,
                extra={
                    "method": method,
                    "path": loggable_path(scope["path"], scope.get("query_string", b"")),
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- security headers -----------------------------------------------------------------------

# The API answers JSON, CSV and calendars: nothing in them may run, load, or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive documentation runs Swagger UI and ReDoc, served from this service's own
# files: their pages start them with inline scripts, and nothing comes from elsewhere.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """The headers every answer carries. A response that sets its own
    ``Content-Security-Policy`` (an HTML page) keeps it; ``Strict-Transport-Security`` is
    sent over https, where it means something, and always when the service is published
    at an https address (``published_over_https``): behind a proxy whose forwarded scheme
    the server does not trust, requests arrive as http, and browsers ignore the header
    on an http answer anyway."""

    def __init__(
        self, app: ASGIApp, docs_paths: Sequence[str] = (), published_over_https: bool = False
    ) -> None:
        self.app = app
        self.docs_paths = tuple(docs_paths)
        self.published_over_https = published_over_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in self.docs_paths else API_POLICY
        https = self.published_over_https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", policy)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
