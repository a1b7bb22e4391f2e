"""Mail preferences, one-click unsubscribe, and the outbox for admins."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.auth.deps import Admin, ClockDep, CurrentUser, SessionDep
from app.bodies import JsonRoute
from app.common.params import Paging
from app.common.schemas import IdPath, Page, presented_page
from app.errors import NotFound, responses
from app.models import MessageStatus
from app.notifications import preferences, presenters, service
from app.notifications.schemas import (
    NotificationChoices,
    NotificationChoicesPatch,
    OutboxRead,
    Unsubscription,
)

router = APIRouter(tags=["notifications"], route_class=JsonRoute)

UnsubscribeCode = Annotated[
    str, Path(max_length=120, description="the code of an unsubscribe link, from a mail")
]


@router.get("/me/notifications", response_model=NotificationChoices, responses=responses(401))
def read_choices(user: CurrentUser, session: SessionDep):
    """Which optional mails you receive (each on unless you turned it off), and the kinds
    that always go out."""
    return presenters.choices(preferences.choices(session=session, user=user))


@router.patch("/me/notifications", response_model=NotificationChoices, responses=responses(401))
def change_choices(
    body: NotificationChoicesPatch, user: CurrentUser, session: SessionDep, clock: ClockDep
):
    """Turn optional mails on or off, each kind on its own."""
    changes = body.model_dump(exclude_unset=True)
    preferences.choose(session=session, user=user, changes=changes, now=clock())
    return presenters.choices(preferences.choices(session=session, user=user))


# An unsubscribe link answers browsers with a page (app.web.api): every answer of its
# address says so, a refused link's too, so that no cache gives one for the other.
BY_ACCEPT = {"Vary": "Accept"}


@contextmanager
def _varies_by_accept(response: Response) -> Iterator[None]:
    response.headers.update(BY_ACCEPT)
    try:
        yield
    except NotFound as error:
        error.headers = BY_ACCEPT
        raise


@router.get(
    "/notifications/unsubscribe/{code}", response_model=Unsubscription, responses=responses(404)
)
def read_unsubscribe(code: UnsubscribeCode, session: SessionDep, response: Response):
    """What an unsubscribe link from a mail turns off. Reading it changes nothing, so that
    link checkers cannot unsubscribe anyone."""
    with _varies_by_accept(response):
        user, kind = preferences.read_code(session, code)
    enabled = preferences.choices(session=session, user=user)[kind]
    return presenters.unsubscription(kind, enabled)


@router.post(
    "/notifications/unsubscribe/{code}", response_model=Unsubscription, responses=responses(404)
)
def unsubscribe(code: UnsubscribeCode, session: SessionDep, clock: ClockDep, response: Response):
    """One-click unsubscribe (RFC 8058), without logging in: turns off the one kind of
    mail the link was sent with. Mail programs post `List-Unsubscribe=One-Click`; any
    body, or none, does the same."""
    with _varies_by_accept(response):
        _user, kind = preferences.unsubscribe(session=session, code=code, now=clock())
    return presenters.unsubscription(kind, False)


@router.get("/outbox", response_model=Page[OutboxRead], responses=responses(401, 403))
def list_outbox(
    session: SessionDep, _admin: Admin, page: Paging, status: MessageStatus | None = None
):
    """Outgoing mail, newest first (admins): each message's kind, recipient, subject,
    status (`pending`, `sent`, `failed`, or `withdrawn`: by its next attempt, a notice
    that no longer held, or a kind its recipient turned off), attempts and last error,
    without its body."""
    found = service.list_messages(session=session, status=status, page=page)
    return presented_page(OutboxRead, found, presenters.outbox_read, page)


@router.post(
    "/outbox/{message_id}/retry", response_model=OutboxRead, responses=responses(401, 403, 404, 409)
)
def retry_message(message_id: IdPath, session: SessionDep, admin: Admin, clock: ClockDep):
    """Send a failed message again, at once, with a fresh count of attempts. A sent or
    withdrawn message, or one for a disabled account, is a 409."""
    message = service.retry(session=session, actor=admin, message_id=message_id, now=clock())
    return presenters.outbox_read(message)
