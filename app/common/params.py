"""Query parameters every endpoint shares: the paging of lists, and the refusal of
parameters an endpoint does not take, or takes once and was given several times."""

from collections import Counter
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.common.paging import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from app.common.schemas import MAX_ID


async def paging(  # asynchronous, as it does no I/O: no worker thread of its own
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"at most this many items, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="skip this many items")] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


# Every list that can grow takes these two parameters and answers a `Page`.
Paging = Annotated[PageRequest, Depends(paging)]


# Where a route keeps its query parameters, worked out on its first request: with the
# route, so that they live as long as it does (an application dropped takes them along).
_TAKEN = "kep_query_parameters"


def _taken_by(route: APIRoute) -> dict[str, bool]:
    taken: dict[str, bool] | None = getattr(route, _TAKEN, None)
    if taken is None:
        taken = _query_parameters(route.dependant)
        setattr(route, _TAKEN, taken)
    return taken


def _query_parameters(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter the endpoint takes, and whether it takes several values (a
    list, given by repeating the parameter)."""
    # FastAPI's own test of whether it reads every value of a parameter or only one.
    taken = {
        field.alias: field_annotation_is_sequence(field.field_info.annotation)
        for field in dependant.query_params
    }
    for sub in dependant.dependencies:
        taken |= _query_parameters(sub)
    return taken


async def no_unknown_query_parameters(request: Request) -> None:
    """Refuse query parameters the endpoint does not take, naming them: a misspelt filter
    must never silently answer everything. Refuse as well a parameter that takes one
    value given several times, which would silently keep only one of them.

    Installed once for the whole application; documentation pages are left alone. Async,
    so that it runs in the event loop and never waits for a worker thread.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    taken = _taken_by(route)
    given = Counter(name for name, _value in request.query_params.multi_items())
    unknown = sorted(name for name in given if name not in taken)
    accepted = ", ".join(sorted(taken)) if taken else "no query parameters"
    errors = [
        {
            "loc": ("query", name),
            "msg": f"Unknown query parameter; this endpoint takes {accepted}",
            "type": "extra_forbidden",
        }
        for name in unknown
    ]
    errors += [
        {
            "loc": ("query", name),
            "msg": f"{name} is given {count} times; it takes one value, so send it once",
            "type": "value_error",
        }
        for name, count in sorted(given.items())
        if count > 1 and name in taken and not taken[name]
    ]
    if errors:
        raise RequestValidationError(errors)
