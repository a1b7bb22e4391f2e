"""Registration for events."""

from fastapi import APIRouter, status

from app.auth.deps import ClockDep, CurrentUser, SessionDep
from app.common.schemas import IdPath
from app.errors import responses
from app.events import registrations
from app.events.schemas import RegistrationRead

router = APIRouter(tags=["registrations"])


@router.post(
    "/events/{event_id}/registrations",
    response_model=RegistrationRead,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 404, 409),
)
def register(event_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Register for a published event that has not begun: `registered` while places
    remain, otherwise `waitlisted` with a `position`."""
    registration = registrations.register(
        session=session, user=user, event_id=event_id, now=clock()
    )
    [body] = registrations.describe(session=session, registrations=[registration])
    return body


@router.delete(
    "/events/{event_id}/registrations/me",
    response_model=RegistrationRead,
    responses=responses(401, 404, 409),
)
def cancel_registration(event_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Cancel your registration; the first on the waitlist takes the place."""
    registration = registrations.cancel_own(
        session=session, user=user, event_id=event_id, now=clock()
    )
    [body] = registrations.describe(session=session, registrations=[registration])
    return body


@router.get(
    "/events/{event_id}/registrations",
    response_model=list[RegistrationRead],
    responses=responses(401, 403, 404),
)
def list_registrations(event_id: IdPath, session: SessionDep, user: CurrentUser):
    """Who registered (the host and the secretariat only): places first, then the
    waitlist in order."""
    found = registrations.list_for_event(session=session, viewer=user, event_id=event_id)
    return registrations.describe(session=session, registrations=found)


@router.get("/me/registrations", response_model=list[RegistrationRead], responses=responses(401))
def my_registrations(session: SessionDep, user: CurrentUser):
    """Your registrations, newest first, cancelled ones included."""
    found = registrations.list_own(session=session, user=user)
    return registrations.describe(session=session, registrations=found)
