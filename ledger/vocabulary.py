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


# The figures' names for people (German, English), by the name the read side answers with:
# the dashboard's and the reports' one vocabulary, so a figure reads the same on screen as
# on paper (api/ui/labels.py, scripts/exports/german.py).
FIGURE_NAMES: dict[str, tuple[str, str]] = {
    # of a phase (SPEC §5 phase totals)
    "envelope": ("Fördervolumen der Phase", "Envelope"),
    "requested": ("Beantragt", "Requested"),
    "awarded": ("Bewilligt", "Awarded"),
    "released": ("Freigegeben (nicht mehr gebunden)", "Released"),
    "committed": ("Gebunden", "Committed"),
    "available": ("Verfügbar", "Available"),
    "paid": ("Ausgezahlt", "Paid"),
    "repaid": ("Zurückgezahlt", "Repaid"),
    "net_paid": ("Ausgezahlt netto", "Net paid"),
    "outstanding": ("Bewilligt, noch nicht ausgezahlt", "Outstanding"),
    # of a fiscal year (SPEC §5 yearly budget reconciliation)
    "appropriation": ("Haushaltsansatz", "Appropriation"),
    "carried_in": ("Übertrag aus dem Vorjahr", "Carried in"),
    "budget": ("Budget", "Budget"),  # appropriation + carried in: the dashboard's chart
    "funded_to_phases": ("Den Phasen zugewiesen", "Funded to phases"),
    "direct_expenditure": ("Direkte Ausgaben", "Direct expenditure"),
    "unallocated": ("Nicht zugewiesen", "Unallocated"),
    "phases_available": ("In den Phasen verfügbar", "Available in the phases"),
    "paid_against_year": ("Ausgezahlt zulasten des Jahres", "Paid against the year"),
    "paid_in_year": ("Ausgezahlt im Jahr", "Paid in the year"),
    "repaid_in_year": ("Rückzahlungen im Jahr", "Repaid in the year"),
    "lapsed": ("Verfallen", "Lapsed"),
    "carried_out": ("Übertrag ins Folgejahr", "Carried out"),
    "trial_balance": ("Summe aller Buchungen", "Trial balance"),
    # of a recipient (SPEC §5 recipient statement)
    "balance": ("Noch auszuzahlen", "Balance"),
}
# The five checks of a yearly reconciliation, in order (projections/totals.py
# `reconciliation`), in the figures' own words.
CHECK_NAMES: tuple[tuple[str, str], ...] = (
    ("Ansatz + Übertrag aus dem Vorjahr = den Phasen zugewiesen + direkte Ausgaben + "
     "nicht zugewiesen + verfallen + Übertrag ins Folgejahr",
     "Appropriation + carried in = funded to phases + direct expenditure + unallocated + "
     "lapsed + carried out"),
    ("Den Phasen zugewiesen = gebunden + Σ verfügbar in den Phasen des Jahres",
     "Funded to phases = committed + Σ available in the year's phases"),
    ("Gebunden = ausgezahlt zulasten des Jahres + bewilligt, noch nicht ausgezahlt",
     "Committed = paid against the year + outstanding"),
    ("Ausgezahlt zulasten des Jahres = Σ ausgezahlt der Anträge des Jahres",
     "Paid against the year = Σ paid of the year's applications"),
    ("Summe aller Buchungen = 0,00 €", "Trial balance of all postings = €0.00"),
)


class BudgetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


__all__ = [
    "CHECK_NAMES",
    "FIGURE_NAMES",
    "MEASURE_CATEGORY_NAMES",
    "OPEN_STATUSES",
    "ApplicationStatus",
    "BudgetStatus",
    "DrawdownStatus",
    "MeasureCategory",
    "RecipientKind",
]
