"""Query parameters every endpoint shares: the paging of lists, and the refusal of
parameters an endpoint does not take."""

from typing import Annotated

from fastapi import Depends, Query, Request
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


def _query_names(dependant: Dependant) -> set[str]:
    # A walk of a few dependencies: cheaper than any cache that must outlive the app.
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def no_unknown_query_parameters(request: Request) -> None:
    """Refuse query parameters the endpoint does not take, naming them: a misspelt filter
    must never silently answer everything.

    Installed once for the whole application; documentation pages are left alone. Async,
    so that it runs in the event loop and never waits for a worker thread.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    taken = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in taken})
    if unknown:
        accepted = ", ".join(sorted(taken)) if taken else "no query parameters"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"Unknown query parameter; this endpoint takes {accepted}",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
