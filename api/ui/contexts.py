"""What each dashboard page shows, read from the same read models the API answers from.

Every function is blocking (it runs in the threadpool) and reads only pages and
index-backed rows: one programme's years, one page of applications or entries.
"""

from __future__ import annotations

from typing import Any

from api.deps import MAX_POSITION
from api.ui.view import View, accepts
from ledger import Ledger
from ledger.errors import NotFound, ValidationFailed
from ledger.persistence.log import plain_decoder
from projections.events import cents, eur
from projections.interface import ReadModels
from projections.totals import PHASE_FIGURES, RECONCILIATION_FIGURES

Json = dict[str, Any]
PAGE = 50
REPAYMENTS_PAGE = 100
PHASE_TABLE = ("envelope", "requested", "awarded", "released", "committed", "available",
               "paid", "repaid", "net_paid", "outstanding")
KIND_COLUMNS = ("requested", "awarded", "committed", "paid", "repaid", "outstanding")
YEAR_TABLE = ("appropriation", "carried_in", "funded_to_phases", "direct_expenditure",
              "unallocated", "committed", "paid_against_year", "paid_in_year",
              "repaid_in_year", "outstanding", "lapsed", "carried_out", "trial_balance")
CHART_YEAR = ("budget", "funded_to_phases", "committed", "paid_against_year")
CHART_PHASE = ("envelope", "committed", "paid", "outstanding", "available")


def programmes(view: View, read: ReadModels) -> Json:
    """The programmes (at most 100): from the read side's list where it has one, else from
    its entity table by the (kind, id) index."""
    listing = getattr(read, "programmes", None)
    if callable(listing):
        page = view.read(listing, limit=100)
        return {"programmes": page["items"], "position": page["position"]}
    state = getattr(read, "_state", None)  # ReadModelsImpl's own entity query
    if state is None:
        raise NotFound("this read side cannot list programmes")
    with state(view.at) as q:
        ids = [str(s["programme_id"]) for s in q.many("programme", limit=100)]
        position = q.at
    return {"programmes": [view.read(read.programme, pid) for pid in ids],
            "position": position}


def programme(view: View, read: ReadModels, programme_id: str) -> Json:
    prog = view.read(read.programme, programme_id)
    years = []
    for budget in prog["budgets"]:
        rec = view.read(read.reconciliation, programme_id, int(budget["fiscal_year"]))
        rec["budget"] = _add(rec["appropriation"], rec["carried_in"])
        years.append(rec)
    phases = [view.read(read.phase, phase_id) for phase_id in prog["phases"]]
    chart = {"labels": [str(y["fiscal_year"]) for y in years],
             "series": [{"label": view.t(name), "values": [y[name] for y in years]}
                        for name in CHART_YEAR]}
    return {"programme": prog, "years": years, "phases": phases, "chart_data": chart,
            "year_table": YEAR_TABLE, "drillable": set(RECONCILIATION_FIGURES),
            "position": prog["position"]}


def phase(view: View, read: ReadModels, phase_id: str, *, search: str | None,
          cursor: str | None) -> Json:
    ph = view.read(read.phase, phase_id)
    totals = view.read(read.phase_totals, phase_id)
    apps = _applications(view, read, phase_id, search=search, cursor=cursor)
    if view.effective_on is not None:
        apps = {**apps, "items": _rows_by_business_date(view, read, apps["items"])}
    names = {}
    for item in apps["items"]:
        rid = item["recipient_id"]
        if rid not in names:
            names[rid] = item.get("recipient_name") or _name(view, read, rid)
    chart = {"labels": [view.t(name) for name in CHART_PHASE],
             "series": [{"label": view.t("amount"),
                         "values": [totals[name] for name in CHART_PHASE]}]}
    return {"phase": ph, "totals": totals, "applications": apps, "names": names,
            "chart_data": chart, "phase_table": PHASE_TABLE, "kind_columns": KIND_COLUMNS,
            "drillable": {*PHASE_FIGURES, "requested"},
            "search": search or "", "position": totals["position"]}


def _applications(view: View, read: ReadModels, phase_id: str, *, search: str | None,
                  cursor: str | None) -> Json:
    """A page of the phase's applications; a search uses the read model's own search
    (`text`: a word of the recipient's name or the file reference) where it has one, and
    finds an application id or a recipient id exactly (both indexed)."""
    if not search:
        return view.read(read.applications, phase_id=phase_id, cursor=cursor, limit=PAGE)
    if accepts(read.applications, "text"):
        try:
            found = view.read(read.applications, phase_id=phase_id, text=search,
                              cursor=cursor, limit=PAGE)
        except ValidationFailed:  # no letter or digit to search for: nothing matches
            found = {"items": [], "next_cursor": None, "total": 0}
        if found["items"] or cursor:
            return found
    found = view.read(read.applications, phase_id=phase_id, recipient_id=search, limit=PAGE)
    if not found["items"]:
        try:
            one = view.read(read.application, search)
            found["items"] = [one] if one["phase_id"] == phase_id else []
        except NotFound:
            pass
    return found


DATED = ("status", "requested", "awarded", "released", "paid", "repaid", "net_paid",
         "outstanding")


def _rows_by_business_date(view: View, read: ReadModels, items: list[Json]) -> list[Json]:
    """A page of applications with each one's status and money by the view's business
    date (their events effective by then, their money from those events' legs: one
    read for the page); those not yet submitted by then are left out (the page may show
    fewer, and its pager still leads on)."""
    assert view.effective_on is not None
    dated = read.applications_on([item["application_id"] for item in items], at=view.at,
                                 effective_on=view.effective_on)
    return [{**item, **{name: dated[item["application_id"]][name] for name in DATED}}
            for item in items if item["application_id"] in dated]


def _name(view: View, read: ReadModels, recipient_id: str) -> str:
    try:
        return str(view.read(read.recipient, recipient_id).get("name", recipient_id))
    except NotFound:
        return recipient_id


def application(view: View, read: ReadModels, application_id: str, *,
                cursor: str | None, repayments_cursor: str | None = None) -> Json:
    app = read.application(application_id, at=view.at)  # (by date below: it may not exist)
    if view.effective_on is not None:
        app = _by_business_date(view, read, app)
    history = view.read(read.application_history, application_id, cursor=cursor, limit=100)
    return {"application": app, "recipient_name": _name(view, read, app["recipient_id"]),
            "history": history, "position": app["position"],
            **_repayments(view, read, application_id, cursor=repayments_cursor)}


def _repayments(view: View, read: ReadModels, application_id: str, *,
                cursor: str | None) -> Json:
    """A page of the application's repayments, all of them over its pages, as the figure
    `repaid` counts them: the audit trail's own (entity, event) query, by index, not the
    repayments found among a page of the history. By a business date, those received by
    then (a page may then show fewer, and its pager still leads on)."""
    page = view.read(read.audit, entity_id=application_id, event_type="RepaymentReceived",
                     cursor=cursor, limit=REPAYMENTS_PAGE)
    on = view.effective_on.isoformat() if view.effective_on is not None else None
    rows = [{"amount": item["data"].get("amount"), "received_on": item["effective_date"],
             "reason": item["reason"], "position": item["position"]}
            for item in page["items"] if on is None or item["effective_date"] <= on]
    return {"repayments": rows, "repayments_next": page["next_cursor"]}


def _by_business_date(view: View, read: ReadModels, app: Json) -> Json:
    """The application by the view's business date: its status, drawdowns and money as
    its events effective by then left them (`ReadModels.application` with
    `effective_on`); not yet submitted by then, it had no money, measures, drawdowns or
    proofs of use (`submitted_by_then` False)."""
    assert view.effective_on is not None
    dated = read.applications_on([app["application_id"]], at=view.at,
                                 effective_on=view.effective_on).get(app["application_id"])
    if dated is None:
        zero = eur(0)
        return {**app, **dict.fromkeys(DATED, zero), "drawdowns": [], "proofs_of_use": [],
                "measures": [], "status": None, "submitted_by_then": False}
    return {**dated, "submitted_by_then": True}


def entries(view: View, read: ReadModels, *, phase_id: str | None = None,
            programme_id: str | None = None, year: int | None = None, figure: str,
            cursor: str | None, carried: int = 0, recipient_kind: str | None = None) -> Json:
    """A page of the entries behind a figure (of a phase: or behind its cell of one
    recipient kind); `carried` (cents) is the sum of the pages before it, so the last
    page shows that all of them sum to the figure."""
    if phase_id is not None:
        kind = {"recipient_kind": recipient_kind} if recipient_kind else {}
        page = view.read(read.phase_entries, phase_id, figure, cursor=cursor, limit=100,
                         **kind)
        owner: Json = {"kind": "phase", "id": phase_id, **kind}
    else:
        assert programme_id is not None and year is not None
        page = view.read(read.reconciliation_entries, programme_id, year, figure,
                         cursor=cursor, limit=100)
        owner = {"kind": "programme", "id": programme_id, "year": year}
    page_sum = sum(cents(item["amount"]) for item in page["items"])
    running = carried + page_sum
    return {"page": page, "figure": figure, "owner": owner, "page_sum": eur(page_sum),
            "running": eur(running), "running_cents": running,
            "sums_to_figure": page["next_cursor"] is None and running == cents(page["total"]),
            "position": page["position"]}


def event(ledger: Ledger, position: int) -> Json:
    # beyond the API's bound no event was ever written, and SQLite cannot even be asked
    # (its integers are 64-bit): the same answer on every store
    if not 0 <= position <= MAX_POSITION:
        raise NotFound(f"no event at position {position}")
    records = ledger.chained_recorder.read_log_at([position])
    if not records:
        raise NotFound(f"no event at position {position}")
    record = records[0]
    fields = plain_decoder(ledger)(record)
    return {"record": record, "fields": fields, "position": position,
            "data": {k: v for k, v in fields.items()
                     if k not in ("originator_id", "originator_version", "timestamp")}}


def audit(view: View, read: ReadModels, filters: dict[str, str | None], *,
          cursor: str | None) -> Json:
    page = view.read(read.audit, **filters, cursor=cursor, limit=PAGE)
    return {"page": page, "filters": filters, "position": page["position"]}


def integrity(ledger: Ledger) -> Json:
    answer = ledger.integrity(None)
    checkpoint = answer.checkpoint
    return {"head_position": answer.head_position, "head_hash": answer.head_hash,
            "verified": answer.verified, "verified_position": checkpoint.position,
            "broken_at": checkpoint.broken_at, "problem": checkpoint.problem,
            "digest": f"{answer.head_position}:{answer.head_hash}",
            "position": answer.head_position}


def _add(*amounts: str) -> str:
    return eur(sum(cents(a) for a in amounts))
