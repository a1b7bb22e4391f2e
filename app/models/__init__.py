"""Every model, imported so that ``Base.metadata`` knows every table."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.catalogue import (
    Action,
    ActionChange,
    ActionChangeKind,
    ActionStatus,
    PriorityArea,
)
from app.models.events import (
    AgendaItem,
    Event,
    EventKind,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from app.models.feeds import CHANGED_EVENTS, EntryVariant, FeedClock, FeedEntry, PersonalFeed
from app.models.notifications import (
    MailKey,
    MessageStatus,
    Notice,
    NotificationSetting,
    OutboxMessage,
)
from app.models.seminars import (
    AGREEING_INSTITUTIONS,
    SEMINAR_ZONE,
    Proposal,
    ProposalStatus,
    Seminar,
    SeminarAgreement,
    SeminarPhase,
    Support,
)
from app.models.users import (
    Affiliation,
    ApiToken,
    Institution,
    Invitation,
    LinkRequest,
    Role,
    User,
)

__all__ = [
    "AGREEING_INSTITUTIONS",
    "CHANGED_EVENTS",
    "SEMINAR_ZONE",
    "Action",
    "ActionChange",
    "ActionChangeKind",
    "ActionStatus",
    "Affiliation",
    "AgendaItem",
    "ApiToken",
    "AuditEntry",
    "Base",
    "EntryVariant",
    "Event",
    "EventKind",
    "EventStatus",
    "FeedClock",
    "FeedEntry",
    "Institution",
    "Invitation",
    "LinkRequest",
    "MailKey",
    "MessageStatus",
    "Notice",
    "NotificationSetting",
    "OutboxMessage",
    "PersonalFeed",
    "PriorityArea",
    "Proposal",
    "ProposalStatus",
    "Registration",
    "RegistrationStatus",
    "Role",
    "Seminar",
    "SeminarAgreement",
    "SeminarPhase",
    "Support",
    "User",
]
