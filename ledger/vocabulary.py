"""Every fixed vocabulary of the ledger, in one place.

The domain, the commands, the API's schemas, the projections and the scripts
all import these. Each is a `StrEnum`: a member is its string value, so stored
events, JSON answers and SQL parameters carry the plain text (`"approved"`).
"""

from __future__ import annotations

from enum import StrEnum


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    REVOKED = "revoked"


OPEN_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED)


class DrawdownStatus(StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    CANCELLED = "cancelled"


class RecipientKind(StrEnum):
    GEMEINDE = "gemeinde"
    STADT = "stadt"
    KREISFREIE_STADT = "kreisfreie_stadt"
    LANDKREIS = "landkreis"


class MeasureCategory(StrEnum):
    IT_INFRASTRUCTURE = "it_infrastructure"
    WORKPLACE_EQUIPMENT = "workplace_equipment"
    REMOTE_WORK = "remote_work"
    COLLABORATION_TOOLS = "collaboration_tools"
    SPECIALIST_APPLICATIONS = "specialist_applications"
    E_RECORDS = "e_records"
    ONLINE_SERVICES = "online_services"
    WEBSITE = "website"
    STRATEGY = "strategy"
    TRAINING = "training"


# The measure categories' names for people (German, English): the dashboard's and the
# reports' one vocabulary (api/ui/labels.py, scripts/exports/german.py).
MEASURE_CATEGORY_NAMES: dict[MeasureCategory, tuple[str, str]] = {
    MeasureCategory.IT_INFRASTRUCTURE: ("IT-Infrastruktur", "IT infrastructure"),
    MeasureCategory.WORKPLACE_EQUIPMENT: ("Arbeitsplatzausstattung", "Workplace equipment"),
    MeasureCategory.REMOTE_WORK: ("Mobiles Arbeiten", "Remote work"),
    MeasureCategory.COLLABORATION_TOOLS: ("Kollaborationswerkzeuge", "Collaboration tools"),
    MeasureCategory.SPECIALIST_APPLICATIONS: ("Fachverfahren", "Specialist applications"),
    MeasureCategory.E_RECORDS: ("E-Akte", "E-records"),
    MeasureCategory.ONLINE_SERVICES: ("Online-Dienste", "Online services"),
    MeasureCategory.WEBSITE: ("Webauftritt", "Website"),
    MeasureCategory.STRATEGY: ("Digitalstrategie", "Strategy"),
    MeasureCategory.TRAINING: ("Schulung", "Training"),
}


class BudgetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


__all__ = [
    "OPEN_STATUSES",
    "ApplicationStatus",
    "BudgetStatus",
    "DrawdownStatus",
    "MeasureCategory",
    "RecipientKind",
]
