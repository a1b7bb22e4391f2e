"""Request bodies: strict JSON, and large bodies read and checked off the event loop.

Python's ``json`` module accepts more than JSON: ``NaN``, ``Infinity``, numbers too
large for a float (``1e400`` becomes infinity) and objects that name a key twice (the
last one wins, silently). None of these is valid input to this service, and a
non-finite number cannot even be written back in an error answer. Every router uses
``JsonRoute``, which parses bodies with those holes closed; what it refuses is a 422
of FastAPI's own ``json_invalid`` kind. A body sent as anything but JSON (form data,
plain text, no ``Content-Type`` at all) is a 415 that says how to send it.

Parsing and validating a body is work proportional to its size. A body of a few
kilobytes is done at once; a larger one (up to ``KEP_MAX_BODY_BYTES``) is parsed and
validated in a worker thread, a few at a time, so that no body can hold the event
loop, and with it every other request, while its errors are counted.
"""

import inspect
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import Request, Response
from fastapi.exceptions import EndpointContext, RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute

from app.errors import AppError, CappedValidationError
from app.sessions import in_one_trip

# Bodies up to this size are parsed where they arrive: their worst case (a few hundred
# errors) costs less than handing them to a thread.
INLINE_BYTES = 8 * 1024
# Large bodies checked at the same time, per process; more wait their turn.
LARGE_BODIES_AT_ONCE = 1
# No identifier, count or year this service takes has more digits; longer integers are
# refused while parsing, before Python spends time converting them.
MAX_INTEGER_DIGITS = 30


class Unparsable(AppError):
    """A body that is not JSON text at all: not UTF-8, or nested deeper than a parser goes."""

    status_code = 400


class NotSentAsJson(AppError):
    """A body sent with another media type than JSON, or with none: form data (what
    ``curl -d`` sends), plain text."""

    status_code = 415

    def __init__(self, request: Request) -> None:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip()[:100]
        came = f"it came as {media}" if media else "it came without a Content-Type"
        if media.lower() == "application/x-www-form-urlencoded":
            came += " (what curl -d sends: add -H 'Content-Type: application/json')"
        super().__init__(
            f"This endpoint reads JSON: send the body as JSON with Content-Type: "
            f"application/json; {came}"
        )
        if request.method == "PATCH":  # RFC 5789: a 415 to a PATCH says what it takes
            self.headers = {"Accept-Patch": "application/json"}


class _NotJson(ValueError):
    """Raised from the parser's hooks for what the JSON standard does not allow."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a number in JSON; numbers must be finite")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"{text} is too large a number; numbers must be finite")
    return value


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _NotJson(f"a number of {digits} digits is longer than any this service accepts")
    return int(text)


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                shown = key if len(key) <= 50 else key[:50] + "…"
                raise _NotJson(f"the key {shown!r} appears twice in one object")
            seen.add(key)
    return result


def _json_invalid(message: str, position: int | None = None) -> RequestValidationError:
    # FastAPI's own shape for a body that is not JSON, so clients handle one kind.
    loc: tuple[str | int, ...] = ("body",) if position is None else ("body", position)
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": loc,
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": message},
            }
        ]
    )


def loads(body: bytes) -> Any:
    """The JSON value of ``body``, or the error answer that says why there is none."""
    try:
        text = body.decode("utf-8")  # JSON exchanged between systems is UTF-8 (RFC 8259)
    except UnicodeDecodeError as error:
        raise Unparsable(
            f"The request body is not UTF-8 text (byte {error.start} is not UTF-8); "
            "send JSON encoded as UTF-8"
        ) from None
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            parse_int=_integer,
            object_pairs_hook=_no_repeated_keys,
        )
    except _NotJson as error:
        raise _json_invalid(str(error)) from None
    except json.JSONDecodeError as error:
        raise _json_invalid(error.msg, error.pos) from None
    except RecursionError:
        raise Unparsable("The request body is nested too deeply to read") from None


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("application/") and (
        media == "application/json" or media.endswith("+json")
    )


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter = getattr(state, "large_bodies", None)
    if limiter is None:
        limiter = state.large_bodies = anyio.CapacityLimiter(LARGE_BODIES_AT_ONCE)
    return limiter


class JsonRoute(APIRoute):
    """A route whose JSON body is read strictly, and off the event loop when large; and
    whose endpoint, if synchronous, answers and commits in one trip to a worker thread
    (``app.sessions.in_one_trip``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        call = self.dependant.call
        if inspect.isfunction(call) and not (
            inspect.iscoroutinefunction(call)
            or inspect.isgeneratorfunction(call)
            or inspect.isasyncgenfunction(call)
        ):
            self.dependant.call = in_one_trip(call, self._checked)
        handle = super().get_route_handler()
        body_params = self.dependant.body_params
        if self.body_field is None or len(body_params) != 1 or self._embed_body_fields:
            return handle
        field = body_params[0]

        def parse_and_check(body: bytes) -> Any:
            value = loads(body)
            _, errors = field.validate(value, {}, loc=("body",))
            if errors:
                raise CappedValidationError(errors)
            return value

        async def read_then_handle(request: Request) -> Response:
            body = await request.body()
            if body and not _is_json(request):
                # Read otherwise, it would be refused as "not a valid dictionary", which
                # says nothing of how to send it.
                raise NotSentAsJson(request)
            if body:
                if len(body) > INLINE_BYTES:
                    parsed = await anyio.to_thread.run_sync(
                        parse_and_check, body, limiter=_limiter(request)
                    )
                    request._json = parsed  # FastAPI's handler reads it from here
                else:
                    request._json = loads(body)
            return await handle(request)

        return read_then_handle

    def _where(self) -> EndpointContext:
        """The endpoint, as FastAPI names it in the errors it raises itself."""
        endpoint = inspect.unwrap(self.endpoint)
        return EndpointContext(
            function=endpoint.__name__,
            path=f"{'/'.join(sorted(self.methods or ()))} {self.path}",
            file=inspect.getsourcefile(endpoint) or "",
            line=inspect.getsourcelines(endpoint)[1],
        )

    def _checked(self, answer: Any) -> Any:
        """The endpoint's answer validated by its response model and written as JSON, as
        FastAPI then validates and writes it (again, from the valid instance): an answer
        that cannot be given fails before the commit, and its change is rolled back."""
        field = self.response_field
        if field is None or isinstance(answer, Response):
            return answer
        value, errors = field.validate(answer, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors, body=answer, endpoint_ctx=self._where())
        field.serialize_json(
            value,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )
        return value
