"""The application's endpoints, as tests walk them."""

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every endpoint, those of included routers too."""
    contexts = getattr(routing, "iter_route_contexts", None)
    routes = (
        [context.original_route for context in contexts(app.routes)] if contexts else app.routes
    )
    return [route for route in routes if isinstance(route, APIRoute)]
