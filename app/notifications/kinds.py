"""Every kind of message the service sends, who receives it, and whether it can be
turned off. Mails about a person's own registrations and account always go out."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    optional: bool
    audience: str
    description: str


ALL_KINDS = (
    Kind(
        "registration_confirmed",
        False,
        "the participants",
        "your place at an event is confirmed; with a calendar invitation",
    ),
    Kind(
        "registration_waitlisted",
        False,
        "the participants",
        "the event is full and you are on its waitlist, at a given position",
    ),
    Kind(
        "registration_promoted",
        False,
        "the participants",
        "a place became free and is now yours; with a calendar invitation",
    ),
    Kind(
        "registration_cancelled",
        False,
        "the participants",
        "you gave up your place; the invitation is withdrawn from your calendar",
    ),
    Kind(
        "event_changed",
        False,
        "the participants",
        "an event you registered for moved, or its venue or online link changed; the "
        "invitation in your calendar follows",
    ),
    Kind(
        "event_cancelled",
        False,
        "the participants",
        "an event you registered for is cancelled, with the reason",
    ),
    Kind("event_reminder", True, "the participants", "the day before an event you registered for"),
    Kind(
        "own_event",
        True,
        "the members",
        "your peer-to-peer event was submitted, published or cancelled",
    ),
    Kind(
        "call_for_topics",
        True,
        "the members",
        "a joint seminar's call for topics opens, with its closing date",
    ),
    Kind(
        "voting_opens",
        True,
        "the members and the secretariat",
        "voting on a joint seminar's proposed topics opens",
    ),
    Kind(
        "proposal_outcome",
        True,
        "the proposers",
        "your proposed topic was agreed or not selected",
    ),
    Kind(
        "event_submitted",
        True,
        "the secretariat",
        "a member submitted a peer-to-peer event for publication",
    ),
    Kind(
        "voting_closed",
        True,
        "the secretariat of DG RTD and CoR SEDEC",
        "voting on a seminar's topics closed: your institution may record its choice",
    ),
    Kind(
        "choice_awaited",
        True,
        "the secretariat of DG RTD and CoR SEDEC",
        "the other institution recorded its choice of topic, and yours is awaited",
    ),
    Kind("topic_agreed", True, "the secretariat", "DG RTD and CoR SEDEC agreed a seminar topic"),
    Kind("invitation", False, "new accounts", "the link that gives a new account its first token"),
    Kind(
        "token_recovery",
        False,
        "anyone who asked",
        "a one-time link that gives a new API token, after POST /token-recovery",
    ),
)

KINDS = {kind.name: kind for kind in ALL_KINDS}
OPTIONAL_KINDS = tuple(kind.name for kind in ALL_KINDS if kind.optional)
