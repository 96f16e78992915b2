"""CSV and spreadsheets are safe to open: no cell is read as a formula, amounts stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from projections.cells import safe_cell, safe_text
from scripts.exports import documents
from tests.api.conftest import auth
from tests.api.scenario import funded, head, ok, submitted

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("text", [FORMULA, "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"])
def test_neutralises_text_a_spreadsheet_would_evaluate(text: str) -> None:
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("value", ["-5.00", "+5.00", "5.00", "-12", "plain text", "", 3, None])
def test_leaves_numbers_and_plain_text_alone(value: object) -> None:
    assert safe_cell(value) == value


def test_audit_csv_carries_no_live_formula(client: TestClient) -> None:
    setup = funded(client)
    application_id = submitted(client, setup)
    rejected = ok(client.post(f"/applications/{application_id}/reject", headers=auth("anna"),
                              json={"reason": FORMULA, "decided_on": "2020-04-01"}))

    response = client.get(f"/audit?entity_id={application_id}"
                          f"&min_position={rejected['position']}",
                          headers=auth("ida", Accept="text/csv"))

    assert response.status_code == 200, response.text
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'" + FORMULA in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@", "\t", "\r"))
                or (cell.startswith("-") and not _is_number(cell))]


def test_xlsx_report_holds_text_not_formulas_and_amounts_as_numbers() -> None:
    rows: list[list[documents.Cell]] = [["=cmd", FORMULA], ["released", Decimal("-5.00")],
                                        ["note", "@evil"]]
    report = documents.Report(title="t", subtitle="s", meta=[], position=1, head_hash="0" * 64,
                              generated=datetime.now(UTC),
                              tables=[documents.Table("c", ["figure", "value"], rows)])

    sheet = load_workbook(io.BytesIO(documents.xlsx(report))).active
    assert sheet is not None
    values = [(row[0].value, row[1].value, row[1].data_type) for row in sheet.iter_rows(min_row=5)
              if row[0].value in ("'=cmd", "released", "note")]

    assert values[0] == ("'=cmd", "'" + FORMULA, "s")
    assert values[1][1] == Decimal("-5.00") or values[1][1] == -5.0
    assert values[1][2] == "n"
    assert values[2][1] == "'@evil"


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_csv_cells_read_as_written(client: TestClient) -> None:
    """Nested JSON keeps its letters ("für", not "f\\u00fcr"), booleans read as in JSON."""
    setup = funded(client)
    application = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[0],
        "requested_amount": "100.00", "submitted_on": "2020-03-01", "measures": [
            {"category": "website", "description": "Webseite für Bürger",
             "amount": "100.00"}]}), 201)
    at = {"min_position": head(client)}

    listed = client.get("/applications", headers={**auth("ida"), "Accept": "text/csv"},
                        params={**at, "phase_id": setup.phase_id})
    reconciliation = client.get(f"/programmes/{setup.programme_id}/reconciliation/2020",
                                headers={**auth("ida"), "Accept": "text/csv"}, params=at)

    rows = list(csv.DictReader(io.StringIO(listed.text)))
    assert [r["application_id"] for r in rows] == [application["application_id"]]
    assert "Webseite für Bürger" in rows[0]["measures"]
    cells = [cell for row in csv.reader(io.StringIO(reconciliation.text)) for cell in row]
    assert "true" in cells and "True" not in cells  # `balanced`, each check's `holds`
