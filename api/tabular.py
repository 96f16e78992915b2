"""CSV answers for lists and totals (`Accept: text/csv`)."""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from projections.cells import safe_cell, safe_text
from projections.totals import ITEM_COLUMNS

CSV = "text/csv; charset=utf-8"


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": False, "schema": {"type": "string"}}


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "JSON, or CSV with `Accept: text/csv`",
          "headers": {
              "X-Ledger-Position": _header("CSV: the position the answer is as of"),
              "X-Next-Cursor": _header("CSV: the cursor to the next page, when there is one"),
              "X-Ledger-Total": _header("CSV: what the page's rows add up to over all pages "
                                        "(a drill-down's figure, the trial balance)"),
              "X-Ledger-By-Kind": _header("CSV of accounts: the totals by account kind, "
                                          "`kind=amount, …`"),
          }},
}


def wants_csv(request: Request) -> bool:
    """True when the client prefers CSV (it names text/csv and not JSON first)."""
    accept = request.headers.get("accept", "").lower()
    if "text/csv" not in accept:
        return False
    json_at = accept.find("application/json")
    return json_at == -1 or accept.find("text/csv") < json_at


def rows_csv(rows: list[dict[str, Any]], position: int,
             columns: Sequence[str] = ()) -> Response:
    """One row per item; nested values as JSON; the position in a header. `columns`
    come first (and make the header of an empty answer)."""
    columns = list(columns)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writerow({column: safe_text(column) for column in columns})
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return Response(buffer.getvalue(), media_type=CSV,
                    headers={"X-Ledger-Position": str(position)})


def page_csv(page: dict[str, Any], columns: Sequence[str] = ()) -> Response:
    """A page of a list: its items, under `columns` first (the header of an empty page)."""
    return _paged(rows_csv(list(page.get("items", [])), int(page.get("position", 0)),
                           columns), page)


def page_csv_of(columns: Sequence[str]) -> Callable[[dict[str, Any]], Response]:
    """`page_csv` of a list whose items have `columns`: an empty page (a filter that
    matches nothing) still names them, as a spreadsheet or a CSV reader expects."""
    return functools.partial(page_csv, columns=columns)


# The items' fields of each list, in the order they are written (tests/api/test_csv_columns:
# each equals the fields of a real item).
ENTRY_COLUMNS = ITEM_COLUMNS
AUDIT_COLUMNS = ("position", "recorded_at", "effective_date", "entity_type", "entity_id",
                 "event_type", "actor", "role", "reason", "correlation_id", "idempotency_key",
                 "hash", "data")
EVENT_COLUMNS = ("position", "recorded_at", "aggregate_id", "aggregate_version", "event_type",
                 "topic", "data", "hash")
APPLICATION_COLUMNS = (
    "application_id", "programme_id", "phase_id", "fiscal_year", "recipient_id",
    "recipient_kind", "status", "requested", "awarded", "paid", "repaid", "net_paid",
    "released", "outstanding", "reference", "submitted_on", "decided_on",
    "decision_reference", "closed_on", "measures", "drawdowns", "proofs_of_use", "position",
    "recipient_name")
RECIPIENT_COLUMNS = ("district_id", "kind", "name", "population", "recipient_id",
                     "registered_on")
PROGRAMME_COLUMNS = ("programme_id", "name", "funder", "budgets", "phases", "position")
PHASE_COLUMNS = ("allow_award_above_request", "closes_on", "eligible_kinds", "envelope",
                 "fiscal_year", "max_open_per_recipient", "name", "opens_on", "phase_id",
                 "programme_id", "committed", "available", "position")
entries_csv = page_csv_of(ENTRY_COLUMNS)
audit_csv = page_csv_of(AUDIT_COLUMNS)
events_csv = page_csv_of(EVENT_COLUMNS)
applications_csv = page_csv_of(APPLICATION_COLUMNS)
recipients_csv = page_csv_of(RECIPIENT_COLUMNS)
programmes_csv = page_csv_of(PROGRAMME_COLUMNS)
phases_csv = page_csv_of(PHASE_COLUMNS)


def _paged(response: Response, page: dict[str, Any]) -> Response:
    """A page's cursor to the next (`X-Next-Cursor`) and the total it belongs to (a
    drill-down's figure, the accounts' trial balance: `X-Ledger-Total`) as headers, so a
    CSV reader knows there is more and what the rows add up to."""
    if page.get("next_cursor"):
        response.headers["X-Next-Cursor"] = str(page["next_cursor"])
    if isinstance(page.get("total"), str):
        response.headers["X-Ledger-Total"] = page["total"]
    return response


ACCOUNT_COLUMNS = ("account", "balance")


def accounts_csv(document: dict[str, Any]) -> Response:
    """A page of accounts: one row per account; the trial balance (`X-Ledger-Total`) and
    the totals by account kind over all of the programme's accounts
    (`X-Ledger-By-Kind: appropriation=-20000000.00, direct=250000.00, …`) as headers."""
    response = _paged(rows_csv(list(document.get("accounts", [])),
                               int(document.get("position", 0)), ACCOUNT_COLUMNS), document)
    by_kind = document.get("by_kind") or {}
    if by_kind:  # (a programme without postings has none)
        response.headers["X-Ledger-By-Kind"] = ", ".join(f"{kind}={amount}"
                                                         for kind, amount in by_kind.items())
    return response


STATEMENT_COLUMNS = ("recipient_id", "application_id", "phase_id", "programme_id", "status",
                     "requested", "awarded", "paid", "repaid", "net_paid", "balance")


def statement_csv(document: dict[str, Any]) -> Response:
    """A recipient statement: one row per application (its totals are the columns' sums,
    `requested` without the withdrawn ones: in JSON)."""
    rows = [{"recipient_id": document.get("recipient_id"), **application}
            for application in document.get("applications", [])]
    return rows_csv(rows, int(document.get("position", 0)), STATEMENT_COLUMNS)


def figures_csv(document: dict[str, Any]) -> Response:
    """A totals document flattened to `figure,value` rows (by_kind.gemeinde.paid …)."""
    rows = [{"figure": key, "value": value} for key, value in _flatten(document)]
    return rows_csv(rows, int(document.get("position", 0)))


def figure_rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The `figure,value` rows of `figures_csv` (its names, its cells), for other writers:
    `ledger report … --format csv` writes what the API answers."""
    return [(safe_text(key), str(_cell(value))) for key, value in _flatten(document)]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        result: list[tuple[str, Any]] = []
        for key, item in value.items():
            result.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return result
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v
                                                  for v in value):
        result = []
        for item in value:
            rest = {k: v for k, v in item.items() if k != "name"}
            result.extend(_flatten(rest, f"{prefix}.{item['name']}"))
        return result
    return [(prefix, value)]


def _cell(value: Any) -> Any:
    """Nested values as JSON (its letters as written: "für", not "f\\u00fcr"), None as
    empty, true and false as in JSON, text safe to open in a spreadsheet."""
    if isinstance(value, (dict, list)):
        return safe_text(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)
