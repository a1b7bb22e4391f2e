"""One error type that carries its status, and the handlers that turn errors into JSON."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from app.middleware import allowed_methods

log = logging.getLogger(__name__)


class AppError(Exception):
    """An answer the client can act on: a status and a sentence that says what is wrong."""

    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(AppError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class TooManyRequests(AppError):
    """Too many requests of one kind from one client; ``retry_after`` seconds to wait."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class PreconditionFailed(AppError):
    """An ``If-Match`` that names another version than the current one."""

    status_code = 412


class Invalid(AppError):
    """Input that parses but breaks a rule (a priority area no action serves, ...).

    Answered in the same shape as field validation: ``loc`` names where the input is
    wrong (``("body", "actions")``, ``("query", "to")``); the body as a whole by default.
    """

    status_code = 422

    def __init__(self, detail: str, loc: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(detail)
        self.loc = loc


# Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER = 5


class ServiceUnavailable(AppError):
    """The database cannot serve the request now; the same request may succeed later."""

    status_code = 503
    headers = {"Retry-After": str(RETRY_AFTER)}  # noqa: RUF012


class DatabaseBusy(ServiceUnavailable):
    pass


class ClientGone(AppError):
    """The client closed the connection while its request waited; nobody reads the answer,
    which is logged with the status web servers use for this, 499."""

    status_code = 499

    def __init__(self) -> None:
        super().__init__("The client closed the connection before the answer was ready")


class ErrorBody(BaseModel):
    detail: str


class InputError(BaseModel):
    """One thing wrong with the input."""

    loc: list[str | int] = Field(
        description="where: `body`, `query`, `path` or `header`, then the field's path",
        examples=[["body", "actions", 0]],
    )
    msg: str = Field(description="what is wrong, in a sentence a person can act on")
    type: str = Field(
        description="a machine-readable kind: `missing`, `extra_forbidden`, `value_error`, ..."
    )


class InvalidBody(BaseModel):
    """The one shape of every 422: field validation and business rules alike."""

    detail: list[InputError]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error answers an endpoint can give."""
    text = {
        304: "Not modified: the copy whose ETag you sent in `If-None-Match` is current; no body",
        401: "Not authenticated: send `Authorization: Bearer <token>`",
        403: "Not allowed: the detail says what is needed",
        404: "No such resource",
        409: "Conflicts with the current state (closed window, cap reached, duplicate)",
        412: "`If-Match` names another version than the current one: read it again",
        400: "The body is not JSON text: not UTF-8, or nested too deeply to read",
        413: "Request body too large",
        415: "The body is not sent as JSON: send it with `Content-Type: application/json`",
        422: "Invalid input",
        429: "Too many requests from your IP address: try again after `Retry-After` seconds",
        503: "The database is unreachable or busy; try again after `Retry-After` seconds",
    }
    return {
        code: {"description": text[code]}
        if code == 304
        else {"model": ErrorBody, "description": text[code]}
        for code in codes
        if code != 422
    }


def _other_slash(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The path with its trailing slash added or taken away, when no route takes the path
    as asked and one takes it so (as Starlette's router redirects)."""
    path = scope["path"]
    if path == "/" or any(route.matches(scope)[0] != Match.NONE for route in routes):
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    changed = {**scope, "path": other}
    return other if any(route.matches(changed)[0] != Match.NONE for route in routes) else None


def error_response(status_code: int, detail: str, headers: dict[str, str] | None = None):
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


# A 422 lists at most this many errors, then says how many there were in all.
MAX_ERRORS = 20


class CappedValidationError(RequestValidationError):
    """Validation errors counted where they were found, keeping only the first few."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__(errors[:MAX_ERRORS])
        self.total = len(errors)


MAX_ECHO_DEPTH = 16


def _echoable(value: Any, depth: int = 0) -> Any:
    """What a 422 may echo of the input: lone surrogates escaped (JSON may carry them,
    UTF-8 cannot), and nesting cut short (a body nested hundreds deep must not exhaust
    the stack while its error is being written)."""
    if depth > MAX_ECHO_DEPTH:
        return "..."
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {str(key): _echoable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_echoable(item, depth + 1) for item in value]
    return value


# Pydantic prefixes the messages of custom validators; the sentence reads better alone.
_PREFIXES = ("Value error, ", "Assertion failed, ")


def input_error(
    loc: Sequence[str | int], msg: str, kind: str, ctx: dict[str, Any] | None = None
) -> dict[str, Any]:
    for prefix in _PREFIXES:
        msg = msg.removeprefix(prefix)
    if kind == "json_invalid" and ctx and ctx.get("error"):
        # "JSON decode error" alone does not say what to mend; the parser's reason does.
        msg = f"{msg}: {ctx['error']}"
    return {"loc": list(loc), "msg": msg, "type": kind}


def invalid_response(errors: list[dict[str, Any]]) -> JSONResponse:
    # Made safe to encode whatever the client sent: a message may quote its input.
    return JSONResponse({"detail": jsonable_encoder(_echoable(errors))}, 422)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's list of field errors, kept to loc, msg and type and to the first
        # MAX_ERRORS: the input is not echoed, and an exception's empty context is not either.
        errors = exc.errors()
        total = getattr(exc, "total", len(errors))
        shown = [
            input_error(error["loc"], error["msg"], error["type"], error.get("ctx"))
            for error in errors[:MAX_ERRORS]
        ]
        if total > MAX_ERRORS:
            last = list(errors[MAX_ERRORS - 1]["loc"][:1]) if errors else []
            more = f"{total - MAX_ERRORS} more errors not shown; {total} in all"
            shown.append(input_error(last, more, "too_many_errors"))
        return invalid_response(shown)

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
        # The router names the methods of the one route it tried; a path's methods are
        # often spread over several routes, so ask them all.
        allowed = allowed_methods(request.app.router.routes, request.scope)
        return error_response(
            405,
            f"{request.method} is not allowed here; the allowed methods are " + ", ".join(allowed),
            {"Allow": ", ".join(allowed)},
        )

    # The router's own redirect of a path with a slash too many or too few is built from
    # the request: the host's root and the scheme it came in with, which behind a proxy
    # and under a path prefix lead away from the service. It is made here instead.
    app.router.redirect_slashes = False

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        other = _other_slash(request.app.router.routes, request.scope)
        if other is None:
            return error_response(404, getattr(exc, "detail", "Not Found"))
        query = request.url.query
        location = request.app.state.settings.base_url + other + (f"?{query}" if query else "")
        return RedirectResponse(location, status_code=307)

    @app.exception_handler(Invalid)
    async def _rule(_request: Request, exc: Invalid) -> JSONResponse:
        return invalid_response([input_error(exc.loc, exc.detail, "value_error")])

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check their rules first; reaching here means a concurrent request
        # won the race for a unique or foreign key. The transaction is rolled back.
        log.info("integrity error turned into 409: %s", exc.orig)
        return error_response(
            409,
            "This conflicts with the stored data, or with a change made at the same moment; "
            "reload and try again",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    async def _database_failed(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, exc)

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        # Input validation bounds every value the database stores; this is the net
        # under it, so that a value it missed is still the client's 422, never a 500.
        log.warning("database refused a value: %s", exc.orig)
        return invalid_response(
            [
                input_error(
                    ("body",), "A value is out of the range the service accepts", "value_error"
                )
            ]
        )


# SQLSTATEs PostgreSQL gives when a wait of its own ends: a lock, and a statement that ran
# past its time or was cancelled.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """A 503 for a database that does not answer, or not in time; the transaction is
    rolled back and the same request may be sent again."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    text = str(orig or exc)
    if state == LOCK_NOT_AVAILABLE or "database is locked" in text:
        detail = "Another change holds the data this request needs; try again in a few seconds"
    elif state == QUERY_CANCELED:
        detail = "The database did not finish in time; try again later"
    else:
        detail = "The database is not answering; try again in a few seconds"
    first_line = (text.strip().splitlines() or [type(exc).__name__])[0]
    statement = " ".join(str(getattr(exc, "statement", None) or "").split())[:80]
    log.warning(
        "database unavailable (%s)%s: %s",
        type(exc).__name__,
        f" in {statement!r}" if statement else "",
        first_line,
    )
    return error_response(503, detail, ServiceUnavailable.headers)


def document_invalid_input(app: FastAPI) -> None:
    """Document the one 422 shape on every operation: any of them refuses an unknown
    query parameter, and many validate more."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            definition = InvalidBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(definition.pop("$defs", {}))
            components["InvalidBody"] = definition
            invalid = {
                "description": "Invalid input: a list of what is wrong and where",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/InvalidBody"}}
                },
            }
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation["responses"]["422"] = invalid
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
