"""Every model, imported so that ``Base.metadata`` knows every table."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.catalogue import Action, ActionChange, ActionStatus, PriorityArea
from app.models.users import ApiToken, Institution, Role, User

__all__ = [
    "Action",
    "ActionChange",
    "ActionStatus",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Institution",
    "PriorityArea",
    "Role",
    "User",
]
