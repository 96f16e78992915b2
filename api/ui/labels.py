"""The dashboard's words, German first and English second: `text(key, lang)`.

An unknown key shows as itself, so a new figure or event type appears (untranslated)
rather than vanishing.
"""

from __future__ import annotations

from ledger.vocabulary import CHECK_NAMES, FIGURE_NAMES, MEASURE_CATEGORY_NAMES

LABELS: dict[str, tuple[str, str]] = {
    "report": ("Bericht herunterladen", "Download the report"),
    # figures and the five checks: the reports' words (ledger/vocabulary.py)
    **FIGURE_NAMES,
    **{f"check{n}": names for n, names in enumerate(CHECK_NAMES, 1)},
    # statuses and kinds
    "submitted": ("Eingereicht", "Submitted"),
    "approved": ("Bewilligt", "Approved"),
    "rejected": ("Abgelehnt", "Rejected"),
    "withdrawn": ("Zurückgezogen", "Withdrawn"),
    "closed": ("Abgeschlossen", "Closed"),
    "revoked": ("Widerrufen", "Revoked"),
    "open": ("Offen", "Open"),
    "cancelled": ("Storniert", "Cancelled"),
    "gemeinde": ("Gemeinde", "Municipality"),
    "stadt": ("Stadt", "Town"),
    "kreisfreie_stadt": ("Kreisfreie Stadt", "County-free city"),
    "landkreis": ("Landkreis", "District"),
    # measure categories
    **{str(category): names for category, names in MEASURE_CATEGORY_NAMES.items()},
    "holds": ("erfüllt", "holds"),
    "fails": ("verletzt", "fails"),
    "balanced": ("Alle Prüfungen erfüllt", "All checks hold"),
    "unbalanced": ("Prüfung verletzt", "A check fails"),
    # page furniture
    "app_title": ("Programm-Ledger", "Program Ledger"),
    "skip": ("Zum Inhalt springen", "Skip to content"),
    "nav": ("Hauptnavigation", "Main navigation"),
    "programmes": ("Programme", "Programmes"),
    "programme": ("Programm", "Programme"),
    "funder": ("Zuwendungsgeber", "Funder"),
    "phase": ("Förderphase", "Phase"),
    "phases": ("Förderphasen", "Phases"),
    "application": ("Antrag", "Application"),
    "applications": ("Anträge", "Applications"),
    "audit": ("Prüfpfad", "Audit trail"),
    "integrity": ("Integrität", "Integrity"),
    "sign_in": ("Anmelden", "Sign in"),
    "sign_out": ("Abmelden", "Sign out"),
    "api_key": ("API-Schlüssel", "API key"),
    "signed_in_as": ("Angemeldet als", "Signed in as"),
    "wrong_key": ("Dieser Schlüssel ist unbekannt.", "This key is unknown."),
    "view": ("Ansicht", "View"),
    "as_of": ("Stand (erfasst bis, Ortszeit)", "As of (recorded by, local time)"),
    "as_of_position": ("oder Log-Position", "or log position"),
    "effective_on": ("Stichtag (Buchungsdatum bis)", "Business date up to"),
    "effective_on_pending": ("Stichtag wird noch nicht unterstützt", "not supported yet"),
    "applications_by_business_date": (
        "Status und Beträge zu diesem Datum; später eingereichte Anträge fehlen, eine Seite "
        "kann daher weniger Zeilen zeigen",
        "status and amounts by that date; applications submitted later are left out, so a "
        "page may show fewer rows"),
    "by_business_date": ("Stand zum Stichtag", "As of the business date"),
    "not_submitted_by_then": ("Zum Stichtag noch nicht eingereicht",
                              "Not yet submitted by the business date"),
    "apply": ("Anzeigen", "Show"),
    "live": ("Live", "Live"),
    "reset": ("Aktueller Stand", "Current state"),
    "position": ("Log-Position", "Log position"),
    "pinned": ("festgehalten", "pinned"),
    "updated": ("Aktualisiert auf Position", "Updated to position"),
    "fiscal_year": ("Haushaltsjahr", "Fiscal year"),
    "reconciliation": ("Haushaltsabstimmung", "Budget reconciliation"),
    "checks": ("Prüfungen", "Checks"),
    "check": ("Prüfung", "Check"),
    "left": ("Links", "Left"),
    "right": ("Rechts", "Right"),
    "verdict": ("Ergebnis", "Verdict"),
    "status": ("Status", "Status"),
    "figure": ("Kennzahl", "Figure"),
    "amount": ("Betrag", "Amount"),
    "totals": ("Summen", "Totals"),
    "by_kind": ("Nach Art der Kommune", "By kind of recipient"),
    "kind": ("Art", "Kind"),
    "by_category": ("Beantragt nach Maßnahmenkategorie", "Requested by category"),
    "category": ("Kategorie", "Category"),
    "counts": ("Anträge nach Status", "Applications by status"),
    "count": ("Anzahl", "Count"),
    "chart_year": ("Budget → zugewiesen → gebunden → ausgezahlt je Haushaltsjahr",
                   "Budget → funded → committed → paid by fiscal year"),
    "chart_phase": ("Fördervolumen, Bindung und Auszahlung", "Envelope, commitments and payments"),
    "search": ("Suche (Name, Gemeindeschlüssel, Aktenzeichen oder Antrags-ID)",
               "Search (name, recipient id, file reference or application id)"),
    "search_button": ("Suchen", "Search"),
    "recipient": ("Zuwendungsempfänger", "Recipient"),
    "reference": ("Aktenzeichen", "File reference"),
    "next_page": ("Nächste Seite", "Next page"),
    "first_page": ("Erste Seite", "First page"),
    "none_found": ("Keine Einträge.", "No entries."),
    # empty states: what is missing, who records it and with which request
    "no_programmes": ("Noch ist kein Programm angelegt.", "There is no programme yet."),
    "no_programmes_how": ("Die Administration erstellt ein Programm mit",
                          "An administrator creates one with"),
    "no_budget": ("Für dieses Programm ist noch kein Haushalt erfasst.",
                  "This programme has no budget yet."),
    "no_budget_how": ("Die Finanzabteilung erfasst den Haushaltsansatz eines Haushaltsjahres mit",
                      "Finance records a fiscal year's appropriation with"),
    "no_budget_then": ("Danach stehen hier die Haushaltsabstimmung des Jahres und ihre "
                       "Prüfungen.", "The year's reconciliation and its checks then show here."),
    "no_phases": ("Noch ist keine Förderphase eröffnet.", "No phase has been opened yet."),
    "no_phases_how": ("Die Administration eröffnet eine Förderphase, ausgestattet aus dem "
                      "Haushalt ihres Jahres, mit",
                      "An administrator opens one, funded from its year's budget, with"),
    "no_applications": ("In dieser Förderphase ist noch kein Antrag eingegangen.",
                        "No application has been submitted to this phase yet."),
    "no_applications_how": ("Die Sachbearbeitung erfasst Anträge mit",
                            "Clerks record applications with"),
    "no_applications_then": ("Danach stehen hier die Anträge nach Status, nach Art der Kommune "
                             "und nach Maßnahmenkategorie.",
                             "The applications by status, by kind of recipient and by category "
                             "then show here."),
    "no_match": ("Kein Antrag passt zu dieser Suche.", "No application matches this search."),
    "history": ("Verlauf", "History"),
    "who": ("Wer", "Who"),
    "role": ("Rolle", "Role"),
    "recorded_at": ("Erfasst am", "Recorded at"),
    "effective_date": ("Wirksam am", "Effective on"),
    "reason": ("Begründung", "Reason"),
    "event": ("Ereignis", "Event"),
    "drawdowns": ("Mittelabrufe", "Drawdowns"),
    "repayments": ("Rückzahlungen", "Repayments"),
    "measures": ("Maßnahmen", "Measures"),
    "description": ("Beschreibung", "Description"),
    "requested_on": ("Abgerufen am", "Requested on"),
    "paid_on": ("Gezahlt am", "Paid on"),
    "received_on": ("Eingegangen am", "Received on"),
    "entries": ("Buchungen", "Entries"),
    "entries_of": ("Buchungen hinter", "Entries behind"),
    "sum_page": ("Summe dieser Seite", "Sum of this page"),
    "figure_total": ("Kennzahl gesamt", "Figure in total"),
    "sum_so_far": ("Summe bis einschließlich dieser Seite", "Sum up to this page"),
    "sums_to_figure": ("Alle Buchungen ergeben zusammen die Kennzahl",
                       "All entries together sum to the figure"),
    "account": ("Konto", "Account"),
    "hash": ("Hash", "Hash"),
    "aggregate": ("Aggregat", "Aggregate"),
    "previous": ("Zurück", "Back"),
    "data": ("Inhalt", "Content"),
    "actor": ("Benutzer", "User"),
    "entity_id": ("Objekt (ID)", "Entity (id)"),
    "event_type": ("Ereignistyp", "Event type"),
    "recorded_from": ("Erfasst ab", "Recorded from"),
    "recorded_to": ("Erfasst bis", "Recorded to"),
    "head": ("Letzte Position", "Head position"),
    "head_hash": ("Hash an der Spitze", "Head hash"),
    "verified": ("Verifiziert bis Position", "Verified up to position"),
    "chain_ok": ("Hash-Kette intakt", "Hash chain intact"),
    "chain_broken": ("Hash-Kette gebrochen", "Hash chain broken"),
    "digest": ("Prüfwert (zum Kopieren)", "Digest (to copy)"),
    "copy": ("Kopieren", "Copy"),
    "copied": ("Kopiert", "Copied"),
    "digest_help": ("Später prüfen mit: ledger verify --digest", "Check later with: "
                    "ledger verify --digest"),
    "forbidden": ("Dafür fehlt Ihre Rolle", "Your role does not allow this"),
    "not_found": ("Nicht gefunden", "Not found"),
    "method_not_allowed": ("Diese Anfrage ist hier nicht möglich (eine andere Methode).",
                           "This request is not possible here (another method is)."),
    "no_such_page": ("Diese Seite gibt es im Dashboard nicht.",
                     "The dashboard has no such page."),
    "error": ("Fehler", "Error"),
    "language": ("Sprache", "Language"),
    "recipient_id": ("Gemeindeschlüssel", "Recipient id"),
    "application_id": ("Antrags-ID", "Application id"),
    "decided_on": ("Entschieden am", "Decided on"),
    "submitted_on": ("Eingereicht am", "Submitted on"),
}


# Event names (the part after the aggregate: `Application.Approved` → `Approved`).
EVENTS: dict[str, tuple[str, str]] = {
    "Submitted": ("Antrag eingereicht", "Application submitted"),
    "Amended": ("Antrag geändert", "Application amended"),
    "Withdrawn": ("Antrag zurückgezogen", "Application withdrawn"),
    "Rejected": ("Antrag abgelehnt", "Application rejected"),
    "Approved": ("Bewilligt", "Approved"),
    "AwardAmended": ("Bewilligung geändert", "Award amended"),
    "DrawdownRequested": ("Mittelabruf", "Drawdown requested"),
    "DrawdownPaid": ("Auszahlung", "Drawdown paid"),
    "DrawdownCancelled": ("Mittelabruf storniert", "Drawdown cancelled"),
    "RepaymentReceived": ("Rückzahlung eingegangen", "Repayment received"),
    "ProofOfUseSubmitted": ("Verwendungsnachweis eingereicht", "Proof of use submitted"),
    "Closed": ("Abgeschlossen", "Closed"),
    "Revoked": ("Bewilligung widerrufen", "Award revoked"),
    "Registered": ("Angelegt", "Registered"),
    "BudgetAppropriated": ("Haushaltsmittel veranschlagt", "Budget appropriated"),
    "BudgetAmended": ("Haushaltsansatz geändert", "Budget amended"),
    "DirectExpenditureRecorded": ("Direkte Ausgabe gebucht", "Direct expenditure recorded"),
    "PhaseFunded": ("Förderphase ausgestattet", "Phase funded"),
    "FiscalYearClosed": ("Haushaltsjahr abgeschlossen", "Fiscal year closed"),
    "Opened": ("Förderphase eröffnet", "Phase opened"),
}


def event_name(event_type: str, lang: str = "de") -> str:
    """`Application.Approved` → 'Bewilligt' (or the type itself when it is unknown)."""
    pair = EVENTS.get(event_type.rsplit(".", 1)[-1])
    if pair is None:
        return event_type
    return pair[1] if lang == "en" else pair[0]


def text(key: str, lang: str = "de") -> str:
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]
