"""The OpenAPI document, completed with the answers that middleware and the framework give."""

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.auth.deps import current_user, optional_user
from app.errors import responses

ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _error_answer(code: int) -> dict[str, Any]:
    return {"description": responses(code)[code]["description"], "content": ERROR_BODY}


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, APIRoute]]:
    """Every path operation with its path, as documented (the application's routes are
    its own: ``app.main.add_routes``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path_format, route


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _token_optional(route: APIRoute) -> bool:
    calls = set(_calls(route.dependant))
    return optional_user in calls and current_user not in calls


# OpenAPI's way to say "a token may be sent, and need not be": the empty requirement.
TOKEN_OPTIONAL: list[dict[str, list[str]]] = [{}, {"HTTPBearer": []}]


def complete(app: FastAPI) -> None:
    """Document what the framework leaves out: on every operation, the 503 of a database
    that does not answer; on every operation with a body, the 400 for a body that is not
    JSON text, the 413 of the body-size limit and the 415 for a body not sent as JSON;
    and, on reads open to anyone that show more to a caller with a token, that the token
    is optional; and, for a service published under a path prefix, that its operations
    are there."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation["responses"].setdefault("503", _error_answer(503))
                    if "requestBody" in operation:
                        for code in (400, 413, 415):
                            operation["responses"].setdefault(str(code), _error_answer(code))
            for path, route in api_routes(app.router.routes):
                if route.include_in_schema and _token_optional(route):
                    for method in route.methods or ():
                        schema["paths"][path][method.lower()]["security"] = TOKEN_OPTIONAL
            root = app.state.settings.base_path
            if root:  # "Try it out" then calls the operations there
                schema["servers"] = [{"url": root}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
