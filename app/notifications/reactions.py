"""Messages written for the changes a transaction made, as it commits.

Every state change in the service is recorded in the audit trail by the service that
makes it. As the transaction commits, the entries it added are read here and turned
into messages in the outbox, in the same transaction: a change that is rolled back
leaves neither its entries nor its messages, and the domains' services need not know
that mail exists.
"""

import logging
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from app.events.registrations import with_positions
from app.models import (
    AGREEING_INSTITUTIONS,
    AuditEntry,
    Event,
    EventStatus,
    Institution,
    Proposal,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
    User,
)
from app.notifications import messages
from app.notifications.outbox import Draft, forget_renderings, insert, prepare_all

log = logging.getLogger(__name__)

RECORDED = "kep_audit_entries"

# What of an event's audit snapshot its registrants hear about when it changes.
CHANGES = {
    "starts_at": "the time",
    "ends_at": "the time",
    "timezone": "the time zone",
    "venue": "the venue",
    "online_url": "the online link",
}


def _collect(session: Session, _context: Any) -> None:
    for instance in session.new:
        if isinstance(instance, AuditEntry):
            session.info.setdefault(RECORDED, []).append(instance)


def _write_messages(session: Session) -> None:
    settings = session.info.get("settings")
    if RECORDED not in session.info:
        return
    session.flush()
    entries = [entry for entry in session.info.pop(RECORDED, []) if inspect(entry).persistent]
    if settings is None or not entries:
        return  # a session outside a request (a command, a script) sends nothing
    forget_renderings(session)
    try:
        drafts = [
            (draft, entry.at)
            for entry in entries
            for draft in drafts_for(session, entry, settings.base_url)
        ]
        insert(session, prepare_all(session, drafts, settings=settings))
    finally:
        forget_renderings(session)


# Read the trail as it is flushed; write the messages as the transaction commits, after
# the feeds have kept their parts (they insert themselves first).
orm_event.listen(Session, "after_flush", _collect)
orm_event.listen(Session, "before_commit", _write_messages)


def _staff(session: Session, institutions: tuple[Institution, ...] | None = None) -> list[User]:
    query = select(User).where(User.role == Role.secretariat).order_by(User.id)
    if institutions is not None:
        query = query.where(User.institution.in_(institutions))
    return list(session.scalars(query))


def _active_registrations(session: Session, event_id: int) -> list[Registration]:
    return list(
        session.scalars(
            select(Registration)
            .options(selectinload(Registration.user))
            .where(
                Registration.event_id == event_id,
                Registration.status.in_(
                    (RegistrationStatus.registered, RegistrationStatus.waitlisted)
                ),
            )
            .order_by(Registration.id)
        )
    )


def drafts_for(session: Session, entry: AuditEntry, base_url: str) -> list[Draft]:
    """The messages one recorded change calls for."""
    before, after = entry.before or {}, entry.after or {}
    match entry.entity_type, entry.action:
        case "registration", "registration.created":
            registration = session.get(Registration, entry.entity_id)
            if registration is None:
                return []
            if registration.status == RegistrationStatus.waitlisted:
                (placed,) = with_positions(session, [registration])
                return [messages.registration_waitlisted(registration, placed.position, base_url)]
            return [messages.registration_confirmed(registration, base_url)]
        case "registration", "registration.promoted":
            registration = session.get(Registration, entry.entity_id)
            return [messages.registration_promoted(registration, base_url)] if registration else []
        case "registration", "registration.cancelled":
            registration = session.get(Registration, entry.entity_id)
            if registration is None or registration.event.status == EventStatus.cancelled:
                return []  # the event's cancellation told them, and withdrew the invitation
            had_place = before.get("status") == RegistrationStatus.registered
            return [messages.registration_cancelled(registration, had_place, base_url)]
        case "event", _:
            return _event_drafts(session, entry, before, after, base_url)
        case "seminar", "agreement.recorded":
            return _choice_drafts(session, entry, after, base_url)
        case "seminar", "seminar.agreed":
            seminar = session.get(Seminar, entry.entity_id)
            proposal = session.get(Proposal, after.get("agreed_proposal_id"))
            if seminar is None or proposal is None:
                return []
            return [
                messages.topic_agreed(seminar, proposal, staff, base_url)
                for staff in _staff(session)
            ]
        case "proposal", "proposal.agreed" | "proposal.not_selected":
            proposal = session.get(Proposal, entry.entity_id)
            if proposal is None:
                return []
            agreed = entry.action == "proposal.agreed"
            return [messages.proposal_outcome(proposal, proposal.seminar, agreed, base_url)]
    return []


def _event_drafts(
    session: Session,
    entry: AuditEntry,
    before: dict[str, Any],
    after: dict[str, Any],
    base_url: str,
) -> list[Draft]:
    event = session.get(Event, entry.entity_id)
    if event is None:
        return []
    host = event.host if event.host is not None and event.host.role == Role.member else None
    drafts: list[Draft] = []
    if entry.action == "event.created" and event.status == EventStatus.submitted:
        if host is not None:
            drafts.append(messages.own_event(event, host, "submitted", base_url))
        drafts += [messages.event_submitted(event, staff, base_url) for staff in _staff(session)]
    elif entry.action == "event.published" and host is not None:
        drafts.append(messages.own_event(event, host, "published", base_url))
    elif entry.action == "event.cancelled":
        if host is not None:
            drafts.append(messages.own_event(event, host, "cancelled", base_url))
        for registration in _active_registrations(session, event.id):
            registered = registration.status == RegistrationStatus.registered
            drafts.append(
                messages.event_cancelled_for_participant(
                    event, registration.user, registered, base_url
                )
            )
    elif entry.action == "event.updated" and event.status == EventStatus.published:
        changes = list(
            dict.fromkeys(CHANGES[name] for name in CHANGES if before.get(name) != after.get(name))
        )
        if changes:
            for registration in _active_registrations(session, event.id):
                registered = registration.status == RegistrationStatus.registered
                drafts.append(
                    messages.event_changed(event, registration.user, changes, registered, base_url)
                )
    return drafts


def _choice_drafts(
    session: Session, entry: AuditEntry, after: dict[str, Any], base_url: str
) -> list[Draft]:
    seminar = session.get(Seminar, entry.entity_id)
    proposal = session.get(Proposal, after.get("proposal_id"))
    if seminar is None or proposal is None or seminar.agreed_at is not None:
        return []  # agreed at once: the agreement's own messages say so
    chosen_by = Institution(after["institution"])
    awaited = tuple(name for name in AGREEING_INSTITUTIONS if name != chosen_by)
    return [
        messages.choice_awaited(seminar, chosen_by, proposal, staff, entry.id, base_url)
        for staff in _staff(session, awaited)
    ]
