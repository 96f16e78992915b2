"""`ledger export` and the document formats of `ledger report`, on the 2020 scenario.

The exports must validate against the vendored standards (package data in
scripts/data/standards, or $LEDGER_STANDARDS_DIR) and add up to the read models'
figures, to the cent.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from projections import build_read_models
from scripts.cli import app
from scripts.data import standards
from scripts.demo_data import load_2020_scenario
from scripts.exports import collect_grants, german, iati, iter_grants, threesixtygiving
from tests.projections.helpers import caught_up_story

# The package's own copy (a folder in a source checkout, which is what tests run on).
STANDARDS = Path(os.environ.get("LEDGER_STANDARDS_DIR", str(standards())))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 2020 scenario in a SQLite file, and the read models' phase totals."""
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'ledger.db'}"
    settings = Settings(database_url=url)
    ledger = build_ledger(settings)
    load_2020_scenario(ledger)
    read_models = build_read_models(settings, ledger)
    read_models.catch_up()
    try:
        return {"url": url, "totals": read_models.phase_totals("2020-1")}
    finally:
        read_models.close()


@pytest.fixture
def ledger_cli(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("LEDGER_DATABASE_URL", demo["url"])
    yield CliRunner()


def _schema_validator() -> jsonschema.Draft202012Validator:
    folder = STANDARDS / "360giving"
    package = json.loads((folder / "360-giving-package-schema.json").read_text())
    grant = json.loads((folder / "360-giving-schema.json").read_text())
    resource = DRAFT202012.create_resource(grant)
    registry = Registry().with_resources([  # the package refers to the grant schema by 1.4.2
        (grant["$id"], resource), (package["properties"]["grants"]["items"]["$ref"], resource)])
    validator = jsonschema.Draft202012Validator
    return validator(package, registry=registry, format_checker=validator.FORMAT_CHECKER)


def test_360giving_export_is_valid_and_adds_up_to_the_cent(ledger_cli, demo, tmp_path):
    out = tmp_path / "grants.json"

    result = ledger_cli.invoke(app, ["export", "--format", "360giving", "--output", str(out)])

    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    _schema_validator().validate(json.loads(text))
    package = json.loads(text, parse_float=Decimal)
    grants = package["grants"]
    disbursed = [t["value"] for g in grants for t in g["disbursementTransaction"]]
    assert package["version"] == "1.4"
    assert len(grants) == len({g["id"] for g in grants}) == 443
    assert sum(g["amountAwarded"] for g in grants) == Decimal("16000000.00")
    assert sum(t["value"] for g in grants for t in g["commitmentTransaction"]) == Decimal(
        "16000000.00")
    assert sum(v for v in disbursed if v > 0) == Decimal(demo["totals"]["paid"])
    assert -sum(v for v in disbursed if v < 0) == Decimal(demo["totals"]["repaid"])
    assert sum(g["amountDisbursed"] for g in grants) == Decimal(demo["totals"]["net_paid"])
    assert '"amountAwarded": 54912.00,' in text  # Bruchköbel, the exact literal, no float
    assert all(g["recipientOrganization"][0]["id"].startswith("DE-AGS-06") for g in grants)
    assert all(g["id"].startswith("360G-shh-digital-") for g in grants)


def test_iati_export_is_valid_against_the_xsd_and_adds_up_to_the_cent(ledger_cli, demo):
    schema = etree.XMLSchema(etree.parse(str(STANDARDS / "iati/iati-activities-schema.xsd")))
    codelist = etree.parse(str(STANDARDS / "iati/codelists/TransactionType.xml"))
    codes = set(codelist.xpath("//codelist-item/code/text()"))

    result = ledger_cli.invoke(app, ["export", "--format", "iati"])

    assert result.exit_code == 0, result.output
    document = etree.fromstring(result.stdout_bytes)
    schema.assertValid(document)
    activities = document.findall("iati-activity")
    values: dict[str, list[Decimal]] = {}
    for transaction in document.iter("transaction"):
        code = transaction.find("transaction-type").get("code")
        values.setdefault(code, []).append(Decimal(transaction.findtext("value")))
    assert document.get("version") == "2.03"
    assert len(activities) == 443
    assert set(values) <= codes
    assert sum(values["2"]) == Decimal("16000000.00")
    assert sum(v for v in values["3"] if v > 0) == Decimal(demo["totals"]["paid"])
    assert -sum(v for v in values["3"] if v < 0) == Decimal(demo["totals"]["repaid"])


def test_export_as_of_before_any_grant_refuses(ledger_cli):
    result = ledger_cli.invoke(app, ["export", "--format", "iati",
                                     "--as-of", "2000-01-01T00:00:00Z"])

    assert result.exit_code == 1
    assert "no grants" in result.output


def test_report_as_xlsx_holds_the_figures(ledger_cli, demo, tmp_path):
    out = tmp_path / "totals.xlsx"

    result = ledger_cli.invoke(app, ["report", "phase-totals", "2020-1", "--format", "xlsx",
                                     "--output", str(out)])

    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    figures: dict = {}
    for row in sheet.iter_rows(min_row=3, values_only=True):
        figures.setdefault(row[0], row[1])  # the first table: the phase's own figures
    for name in ("envelope", "awarded", "paid", "repaid", "outstanding"):
        # xlsx keeps numbers as doubles; two-decimal amounts of this size round-trip exactly
        assert Decimal(str(figures[german.label(name)])).quantize(Decimal("0.01")) == Decimal(
            demo["totals"][name])
    assert figures["bewilligt"] == 443
    footer = sheet.oddFooter  # printed: the log's position and hash, and the page of pages
    assert footer.right.text == "Seite &P von &N"
    assert footer.left.text.startswith("Log-Position")


def test_report_as_html_has_a_table_and_an_inline_svg_chart(ledger_cli, demo):
    result = ledger_cli.invoke(app, ["report", "phase-totals", "2020-1", "--format", "html"])

    assert result.exit_code == 0, result.output
    page = result.stdout
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "<rect" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert f'<td class="n">{german.euro(demo["totals"]["paid"])}</td>' in page
    assert "16.000.000,00\u00a0€" in page


def test_report_as_pdf_has_the_figures_in_its_text(ledger_cli, demo, tmp_path):
    out = tmp_path / "reconciliation.pdf"

    result = ledger_cli.invoke(app, ["report", "reconciliation", "shh-digital", "2020",
                                     "--format", "pdf", "--output", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "20.000.000,00 €" in text
    assert german.euro(demo["totals"]["paid"]).replace("\u00a0", " ") in text


def test_closed_and_revoked_grants_export_valid_with_their_end_dates():
    with caught_up_story("memory://") as (_, read_models, _):
        grants = collect_grants(read_models)
    package = threesixtygiving.package(grants, issued="2021-03-01T00:00:00Z")
    document = etree.fromstring(iati.activities(grants, generated="2021-03-01T00:00:00Z"))

    _schema_validator().validate(json.loads(threesixtygiving.dumps(package)))
    etree.XMLSchema(etree.parse(str(STANDARDS / "iati/iati-activities-schema.xsd"))).assertValid(
        document)
    assert {g.status for g in grants} == {"approved", "closed", "revoked"}
    ended = [g for g in package["grants"] if "actualDates" in g]
    assert len(ended) == sum(1 for g in grants if g.closed_on) > 0
    statuses = {a.find("activity-status").get("code") for a in document.iter("iati-activity")}
    assert statuses == {"2", "4", "5"}


def test_streamed_documents_are_the_documents_built_whole(sql_database_url):
    """`ledger export` streams one grant at a time (memory bounded at any size): the bytes
    are those of the document built whole, grants in application-id order, every status."""
    with caught_up_story(sql_database_url) as (_, read_models, _):
        grants = collect_grants(read_models)
        streamed = list(iter_grants(read_models, at=read_models.position()))
        package, activities = io.BytesIO(), io.BytesIO()
        written = threesixtygiving.write_package(
            iter(grants), package, issued="2021-03-01T00:00:00Z", funder="XM-DAC-5-7")
        iati.write_activities(iter(grants), activities, generated="2021-03-01T00:00:00Z")

    assert streamed == grants
    assert [g.application_id for g in grants] == sorted(g.application_id for g in grants)
    assert {g.status for g in grants} == {"approved", "closed", "revoked"}
    assert written == len(grants)
    assert package.getvalue() == (threesixtygiving.dumps(threesixtygiving.package(
        grants, issued="2021-03-01T00:00:00Z", funder="XM-DAC-5-7")) + "\n").encode()
    assert activities.getvalue() == iati.activities(grants, generated="2021-03-01T00:00:00Z")
    with pytest.raises(ValueError, match="at least one grant"):
        threesixtygiving.write_package(iter(()), io.BytesIO(), issued="2021-03-01T00:00:00Z")


def test_an_export_that_fails_midway_leaves_its_file_as_it_was(ledger_cli, tmp_path, monkeypatch):
    """The document is streamed into a temporary file beside FILE, renamed over it once
    complete: a failure midway (here a disk full at the tenth transaction) keeps FILE."""
    out = tmp_path / "grants.xml"
    out.write_bytes(b"last month's export")
    written = iati._transaction

    def fail_at_the_tenth_transaction(activity, grant, transaction, funder):
        if len(calls) == 10:
            raise OSError("disk full")
        calls.append(transaction.transaction_id)
        written(activity, grant, transaction, funder)

    calls: list[str] = []
    monkeypatch.setattr(iati, "_transaction", fail_at_the_tenth_transaction)

    result = ledger_cli.invoke(app, ["export", "--format", "iati", "--output", str(out)])

    assert result.exit_code != 0
    assert len(calls) == 10
    assert out.read_bytes() == b"last month's export"
    assert [p.name for p in tmp_path.iterdir()] == ["grants.xml"]


def test_commitments_add_up_to_what_is_still_committed_and_keep_their_amounts():
    """An award amendment is a commitment of its own (its change, on its date), and the
    residual released at a closure or revocation a negative one: the commitments of a
    grant add up to awarded − released, and an earlier export's transactions (the same
    ids) keep their amounts in a later one."""
    with caught_up_story("memory://") as (_, read_models, _):
        grants = collect_grants(read_models)
        applications = {g.application_id: read_models.application(g.application_id)
                        for g in grants}
        approved = {e["entity_id"]: Decimal(e["data"]["approved_amount"]) for e in
                    read_models.audit(event_type="Application.Approved", limit=1000)["items"]}
        earlier = {g.application_id: g for g in collect_grants(
            read_models, at=max(e["position"] for e in read_models.audit(
                event_type="Application.Approved", limit=1000)["items"]))}

    kinds = {t.kind for g in grants for t in g.transactions}
    assert {"amendment", "release"} <= kinds  # the story amends, closes and revokes
    for grant in grants:
        application = applications[grant.application_id]
        commitments = sum((t.amount for t in grant.transactions if t.commitment), Decimal(0))
        assert commitments == Decimal(application["awarded"]) - Decimal(
            application["released"]), grant.application_id
        assert grant.transactions[0].amount == approved[grant.application_id]
        before = {t.transaction_id: t for t in earlier[grant.application_id].transactions}
        assert all(t == before[t.transaction_id] for t in grant.transactions
                   if t.transaction_id in before)
    document = threesixtygiving.package(grants, issued="2021-03-01T00:00:00Z")
    _schema_validator().validate(json.loads(threesixtygiving.dumps(document)))
    assert all(len(g["title"]) <= 140 for g in document["grants"])
    # 360Giving: the award transactions add up to amountAwarded (its schema's rule)
    assert all(sum((Decimal(str(t["value"])) for t in g["commitmentTransaction"]),
                   Decimal(0)) == Decimal(str(g["amountAwarded"])) for g in document["grants"])


def test_a_package_of_several_programmes_is_named_for_all_of_them():
    """Not after the first programme's name and funder alone (the package holds both)."""
    with caught_up_story("memory://") as (_, read_models, _):
        grants = collect_grants(read_models)
    other = [dataclasses.replace(g, programme_id="zweites", programme_name="Zweites Programm",
                                 funder="Landkreis Gießen") for g in grants[:2]]
    mixed = [*grants, *other]
    package = threesixtygiving.package(mixed, issued="2021-03-01T00:00:00Z")
    streamed = io.BytesIO()
    threesixtygiving.write_package(iter(mixed), streamed, issued="2021-03-01T00:00:00Z")

    _schema_validator().validate(json.loads(threesixtygiving.dumps(package)))
    assert package["title"] == (f"Grants of 2 programmes: {grants[0].programme_name}; "
                                "Zweites Programm")
    assert package["publisher"]["name"] == f"{grants[0].funder}; Landkreis Gießen"
    assert streamed.getvalue() == (threesixtygiving.dumps(package) + "\n").encode()
    single = threesixtygiving.package(grants, issued="2021-03-01T00:00:00Z")
    assert single["title"] == f"{grants[0].programme_name}: grants"
    assert single["publisher"]["name"] == grants[0].funder


def test_each_grant_says_when_what_it_shows_last_changed(sql_database_url):
    """IATI's last-updated-datetime and 360Giving's dateModified: the recorded time of the
    last event of the grant's application, recipient or programme by the export's
    position (IATI: "must change whenever the value of any field changes"), not the time
    of the export — so an unchanged grant keeps its time from one export to the next."""
    with caught_up_story(sql_database_url) as (_, read_models, _):
        events = []
        cursor = None
        while True:
            page = read_models.audit(cursor=cursor, limit=1000)
            events += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        middle = sorted(e["position"] for e in events)[len(events) // 2]
        now, then = collect_grants(read_models), collect_grants(read_models, at=middle)
        package = threesixtygiving.package(now, issued="2030-01-01T00:00:00Z")
        document = etree.fromstring(iati.activities(now, generated="2030-01-01T00:00:00Z"))

    def last(grant, at):
        return max(e["recorded_at"] for e in events if e["position"] <= at and (
            (e["entity_type"], e["entity_id"]) in {("application", grant.application_id),
                                                   ("recipient", grant.recipient_id),
                                                   ("programme", grant.programme_id)}))

    head = max(e["position"] for e in events)
    assert then and all(g.last_updated == last(g, middle) for g in then)
    assert all(g.last_updated == last(g, head) for g in now)
    assert any(g.last_updated != h.last_updated for g in now for h in then
               if g.application_id == h.application_id)  # some changed after `middle`
    assert [g["dateModified"] for g in package["grants"]] == [g.last_updated for g in now]
    assert [a.get("last-updated-datetime") for a in document.iter("iati-activity")] == [
        g.last_updated for g in now]
    _schema_validator().validate(json.loads(threesixtygiving.dumps(package)))


def test_last_recorded_answers_now_as_at_the_read_models_position(sql_database_url):
    """Also where current answers are kept (a server's read models): its answer is no page
    with a position, so it must not go through the kept answers."""
    with caught_up_story(sql_database_url) as (ledger, read_models, _):
        ids = [g.application_id for g in collect_grants(read_models)]
        served = build_read_models(Settings(database_url=sql_database_url), ledger,
                                   keep_answers=True)
        try:
            served.catch_up()
            now = served.last_recorded("application", ids)
            at = served.last_recorded("application", ids, at=served.position())
        finally:
            served.close()

    assert now == at and set(now) == set(ids)
