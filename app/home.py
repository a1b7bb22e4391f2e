"""The service's front door: what it is, and where to go from here."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app import __version__
from app.auth.deps import SettingsDep
from app.bodies import JsonRoute

router = APIRouter(tags=["health"], route_class=JsonRoute)

NAME = "KEP 2.0 events service"

# Where a newcomer goes next: the documentation, always; the rest (the feeds among them)
# once the service serves it.
DOCUMENTATION = {"docs": "/docs", "redoc": "/redoc", "openapi": "/openapi.json"}
LINKS = {
    "health": "/health",
    "events": "/events",
    "seminars": "/seminars",
    "feeds": "/feeds",
    "calendar": "/calendar.ics",
    "seminars_calendar": "/seminars.ics",
}


class ServiceRead(BaseModel):
    name: str
    version: str
    description: str
    links: dict[str, str] = Field(
        description="paths on this service, under the path of its public address: the "
        "interactive documentation (`docs`, `redoc`), the OpenAPI document, the health "
        "check, and the public lists and calendar feeds"
    )


def _served_paths(request: Request) -> set[str]:
    return set(request.app.openapi()["paths"])  # built once, then cached by the app


@router.get("/", response_model=ServiceRead)
def service(request: Request, response: Response, settings: SettingsDep):
    """The service's name and version, with links to its documentation, its health check
    and its public lists and feeds. Answers JSON to every client that does not prefer
    HTML (`Accept: application/json`, `*/*` or none); a browser, which asks for
    `text/html`, gets the programme of events as a web page instead."""
    response.headers["Vary"] = "Accept"
    served = _served_paths(request)
    root = settings.base_path  # clients follow the links from the public address
    return ServiceRead(
        name=NAME,
        version=__version__,
        description="Joint DG RTD–CoR seminars and peer-to-peer events of the Knowledge "
        "Exchange Platform under the Joint Action Plan for research and innovation, "
        f"{settings.plan_term}",
        links={
            name: root + path
            for name, path in (DOCUMENTATION | LINKS).items()
            if name in DOCUMENTATION or path in served
        },
    )
