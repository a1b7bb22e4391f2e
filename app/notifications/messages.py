"""The words of every message: a subject and a plain-text body with the facts and a link.

Each function takes rows and answers ``Draft``s; none writes anything. Times are given
in the event's (or seminar's) zone and in UTC.
"""

from app.feeds import links
from app.models import Event, Institution, Proposal, Registration, Seminar, User
from app.notifications.itip import CANCEL, REQUEST
from app.notifications.outbox import LINK_MARK, Draft, Invite
from app.notifications.wording import facts, moment
from app.seminars.wording import INSTITUTION_NAMES

SIGNATURE = "\n\nKEP 2.0, the Knowledge Exchange Platform of the CoR and the European Commission"


def _body(*paragraphs: str | list[str]) -> str:
    parts = ["\n".join(part) if isinstance(part, list) else part for part in paragraphs]
    return "\n\n".join(parts) + SIGNATURE


def _hello(user: User) -> str:
    return f"Dear {user.name},"


CALENDAR_NOTE = (
    "The calendar invitation attached puts the event in your calendar, and keeps it up to "
    "date if it changes."
)

# -- participants ------------------------------------------------------------------------


def registration_confirmed(registration: Registration, base_url: str) -> Draft:
    event, user = registration.event, registration.user
    return Draft(
        kind="registration_confirmed",
        key=f"registration:{registration.id}:registered:{registration.queue_number}",
        user=user,
        subject=f"Registration confirmed: {event.title}",
        body=_body(
            _hello(user),
            "Your place at this event is confirmed.",
            facts(event, base_url),
            CALENDAR_NOTE,
        ),
        invite=Invite(event.id, REQUEST),
    )


def registration_waitlisted(
    registration: Registration, position: int | None, base_url: str
) -> Draft:
    event, user = registration.event, registration.user
    where = f"at position {position}" if position else ""
    return Draft(
        kind="registration_waitlisted",
        key=f"registration:{registration.id}:waitlisted:{registration.queue_number}",
        user=user,
        subject=f"On the waitlist{f' (position {position})' if position else ''}: {event.title}",
        body=_body(
            _hello(user),
            f"The event is full: you are on its waitlist {where}. If a place becomes free, "
            "it goes to the first on the list, and you receive a mail with a calendar "
            "invitation when it is yours.",
            facts(event, base_url),
        ),
    )


def registration_promoted(registration: Registration, base_url: str) -> Draft:
    event, user = registration.event, registration.user
    return Draft(
        kind="registration_promoted",
        key=f"registration:{registration.id}:promoted:{registration.queue_number}",
        user=user,
        subject=f"A place is yours: {event.title}",
        body=_body(
            _hello(user),
            "A place became free at this event, and it is now yours: you are registered.",
            facts(event, base_url),
            CALENDAR_NOTE,
        ),
        invite=Invite(event.id, REQUEST),
    )


def registration_cancelled(registration: Registration, had_place: bool, base_url: str) -> Draft:
    event, user = registration.event, registration.user
    what = "your place" if had_place else "your spot on the waitlist"
    return Draft(
        kind="registration_cancelled",
        key=f"registration:{registration.id}:cancelled:{registration.queue_number}",
        user=user,
        subject=f"Registration cancelled: {event.title}",
        body=_body(
            _hello(user),
            f"You gave up {what} at this event."
            + (" The event is taken out of your calendar." if had_place else ""),
            facts(event, base_url),
        ),
        invite=Invite(event.id, CANCEL) if had_place else None,
    )


def event_changed(
    event: Event, user: User, changes: list[str], registered: bool, base_url: str
) -> Draft:
    return Draft(
        kind="event_changed",
        key=f"event:{event.id}:changed:{event.sequence}:to:{user.id}",
        user=user,
        subject=f"Changed: {event.title}",
        body=_body(
            _hello(user),
            "An event you registered for has changed: " + ", ".join(changes) + ".",
            facts(event, base_url),
            "The invitation in your calendar is updated by the one attached."
            if registered
            else "You are on its waitlist.",
        ),
        invite=Invite(event.id, REQUEST) if registered else None,
    )


def event_cancelled_for_participant(
    event: Event, user: User, registered: bool, base_url: str
) -> Draft:
    reason = event.cancel_reason or "no reason was given"
    what = "held a place at" if registered else "were on the waitlist of"
    paragraphs: list[str | list[str]] = [
        _hello(user),
        f"This event, which you {what}, is cancelled. The reason: {reason}",
        facts(event, base_url),
    ]
    if registered:
        paragraphs.append("The cancellation attached takes it out of your calendar.")
    return Draft(
        kind="event_cancelled",
        key=f"event:{event.id}:cancelled:to:{user.id}",
        user=user,
        subject=f"Cancelled: {event.title}",
        body=_body(*paragraphs),
        invite=Invite(event.id, CANCEL) if registered else None,
    )


def reminder_key(event: Event, user_id: int) -> str:
    """What a reminder is about: the event, when it starts, and to whom."""
    return f"event:{event.id}:reminder:{event.starts_at.isoformat()}:to:{user_id}"


def event_reminder(event: Event, user: User, base_url: str) -> Draft:
    return Draft(
        kind="event_reminder",
        key=reminder_key(event, user.id),
        user=user,
        subject=f"Tomorrow: {event.title}",
        body=_body(
            _hello(user), "A reminder: you are registered for this event.", facts(event, base_url)
        ),
    )


# -- hosts ----------------------------------------------------------------------------


def own_event(event: Event, host: User, what: str, base_url: str) -> Draft:
    sentences = {
        "submitted": "Your peer-to-peer event is submitted. The secretariat will publish it; "
        "until then only you and the secretariat see it.",
        "published": "Your peer-to-peer event is published: anyone can now see it and register.",
        "cancelled": "Your event is cancelled. The reason: "
        + (event.cancel_reason or "no reason was given"),
    }
    return Draft(
        kind="own_event",
        key=f"event:{event.id}:{what}:host:{host.id}",
        user=host,
        subject=f"Your event is {what}: {event.title}",
        body=_body(_hello(host), sentences[what], facts(event, base_url)),
    )


# -- the secretariat --------------------------------------------------------------------


def event_submitted(event: Event, staff: User, base_url: str) -> Draft:
    host = event.host.name if event.host else "A member"
    return Draft(
        kind="event_submitted",
        key=f"event:{event.id}:submitted:to:{staff.id}",
        user=staff,
        subject=f"To publish: {event.title}",
        body=_body(
            _hello(staff),
            f"{host} submitted a peer-to-peer event. It waits for the secretariat to publish "
            f"it (POST /events/{event.id}/publish).",
            facts(event, base_url),
        ),
    )


# The moment each of the seminar's time-based notices announces: its name in the keys,
# and the seminar's date that sets it.
SEMINAR_MOMENTS = {
    "call_for_topics": ("proposals_open", "proposals_open_at"),
    "voting_opens": ("voting_opens", "proposals_close_at"),
    "voting_closed": ("voting_closed", "voting_close_at"),
}


def seminar_moment(kind: str, seminar: Seminar) -> str:
    """What a seminar's notice of ``kind`` is about, as its keys name it: the moment
    and its date (moved, it is another moment, and another notice)."""
    name, date = SEMINAR_MOMENTS[kind]
    return f"{name}:{getattr(seminar, date).isoformat()}"


def _seminar_draft(
    kind: str,
    seminar: Seminar,
    moment_key: str,
    user: User,
    subject: str,
    *said: str,
    base_url: str,
) -> Draft:
    """A message about a seminar: its label in the subject, its page at the end."""
    return Draft(
        kind=kind,
        key=f"seminar:{seminar.id}:{moment_key}:to:{user.id}",
        user=user,
        subject=f"{seminar.label}: {subject}",
        body=_body(_hello(user), *said, f"Seminar: {links.seminar_page(base_url, seminar.id)}"),
    )


def choice_awaited(
    seminar: Seminar,
    chosen_by: Institution,
    proposal: Proposal,
    staff: User,
    entry_id: int,
    base_url: str,
) -> Draft:
    return _seminar_draft(
        "choice_awaited",
        seminar,
        f"choice:{entry_id}",
        staff,
        f"{INSTITUTION_NAMES[chosen_by]} chose a topic; yours is awaited",
        f"{INSTITUTION_NAMES[chosen_by]} recorded its choice for {seminar.label}: proposal "
        f'{proposal.id}, "{proposal.title}". The topic is agreed when your institution '
        f"names the same proposal (PUT /seminars/{seminar.id}/agreement).",
        base_url=base_url,
    )


def voting_closed(seminar: Seminar, staff: User, base_url: str) -> Draft:
    return _seminar_draft(
        "voting_closed",
        seminar,
        seminar_moment("voting_closed", seminar),
        staff,
        "voting closed; record your institution's choice",
        f"Voting on the topics of {seminar.label} closed on "
        f"{moment(seminar.voting_close_at, seminar.timezone)}. The tally is final "
        f"(GET /seminars/{seminar.id}/tally); DG RTD and CoR SEDEC may now each record "
        f"their choice (PUT /seminars/{seminar.id}/agreement).",
        base_url=base_url,
    )


def topic_agreed(seminar: Seminar, proposal: Proposal, staff: User, base_url: str) -> Draft:
    return _seminar_draft(
        "topic_agreed",
        seminar,
        f"agreed:{proposal.id}",
        staff,
        "topic agreed",
        f'DG RTD and CoR SEDEC agreed the topic of {seminar.label}: "{proposal.title}" '
        f"(proposal {proposal.id}). It can now be scheduled as an event "
        f"(POST /seminars/{seminar.id}/event).",
        base_url=base_url,
    )


# -- members: the seminar cycle ---------------------------------------------------------


def call_for_topics(seminar: Seminar, member: User, base_url: str) -> Draft:
    return _seminar_draft(
        "call_for_topics",
        seminar,
        seminar_moment("call_for_topics", seminar),
        member,
        "the call for topics is open",
        f"The call for topics of {seminar.label} is open. Propose a topic for the joint "
        f"DG RTD–CoR seminar (POST /seminars/{seminar.id}/proposals) until "
        f"{moment(seminar.proposals_close_at, seminar.timezone)}.",
        f"Voting then runs until {moment(seminar.voting_close_at, seminar.timezone)}.",
        base_url=base_url,
    )


def voting_opens(seminar: Seminar, voter: User, base_url: str) -> Draft:
    return _seminar_draft(
        "voting_opens",
        seminar,
        seminar_moment("voting_opens", seminar),
        voter,
        "voting on the topics is open",
        f"The call for topics of {seminar.label} has closed and voting is open until "
        f"{moment(seminar.voting_close_at, seminar.timezone)}. Support the proposals you "
        "want (PUT /proposals/{id}/support); they are listed at "
        f"GET /seminars/{seminar.id}/proposals.",
        base_url=base_url,
    )


def proposal_outcome(proposal: Proposal, seminar: Seminar, agreed: bool, base_url: str) -> Draft:
    user = proposal.proposer
    outcome = "agreed" if agreed else "not selected"
    sentence = (
        f'DG RTD and CoR SEDEC agreed your proposal "{proposal.title}" as the topic of '
        f"{seminar.label}. The secretariat will schedule the seminar."
        if agreed
        else f"DG RTD and CoR SEDEC agreed another topic for {seminar.label}; your proposal "
        f'"{proposal.title}" was not selected. Thank you for proposing it.'
    )
    return Draft(
        kind="proposal_outcome",
        key=f"proposal:{proposal.id}:{'agreed' if agreed else 'not_selected'}",
        user=user,
        subject=f"{seminar.label}: your proposal was {outcome}",
        body=_body(_hello(user), sentence, f"Seminar: {links.seminar_page(base_url, seminar.id)}"),
    )


# -- accounts ---------------------------------------------------------------------------


# Links that anyone may have mailed to any address (sign-up, token recovery) greet no
# one by name: the name was given by whoever asked, and would put their words in the
# service's mail to a stranger.
ANYONE_MAY_ASK = "Hello,"


def invitation(user: User, link: str, invitation_id: int, expires: str) -> Draft:
    return Draft(
        kind="invitation",
        key=f"invitation:{invitation_id}",
        user=user,
        named=False,
        subject="Your KEP 2.0 account: get your API token",
        body=_body(
            ANYONE_MAY_ASK,
            f"An account of the KEP 2.0 events service was made for you ({user.role}). "
            "Open this link to receive your API token; it works once, until "
            f"{expires}:",
            LINK_MARK,
            "If you did not expect this mail, ignore it: nothing happens unless the link is "
            "opened.",
        ),
        secret_link=link,
    )


def token_recovery(user: User, link: str, invitation_id: int, expires: str) -> Draft:
    return Draft(
        kind="token_recovery",
        key=f"invitation:{invitation_id}",
        user=user,
        named=False,
        subject="KEP 2.0: a link for a new API token",
        body=_body(
            ANYONE_MAY_ASK,
            "Someone, probably you, asked for a new API token for this address. Open this "
            f"link to receive one; it works once, until {expires}:",
            LINK_MARK,
            "If you did not ask, ignore this mail: your tokens stay as they are.",
        ),
        secret_link=link,
    )
