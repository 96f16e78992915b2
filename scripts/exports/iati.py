"""IATI Standard 2.03: an `iati-activities` document, one `iati-activity` per grant.

Transactions use the TransactionType codelist (standards/iati/codelists/TransactionType.xml):
2 Outgoing Commitment for the award, for each award amendment (its change, either sign) and
for the residual released at a closure or revocation (negative), 3 Disbursement for each
paid drawdown, and for a
repayment also 3 Disbursement with a negative value. The codelist has no code for a grant
refund: 6 Loan Repayment is loan principal (these are grants, not loans), 1 Incoming Funds
is money received *for use on* the activity; a negative disbursement keeps the sum of an
activity's disbursements equal to the money the recipient kept.

Organisation identifiers are the same as in the 360Giving export (local, see there).
Values are the Decimal's exact digits as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO
from xml.etree import ElementTree as ET

from scripts.exports.grants import Grant, Transaction
from scripts.exports.threesixtygiving import RECIPIENT_PREFIX, funder_id

VERSION = "2.03"
CURRENCY = "EUR"
LANGUAGE = "de"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TRANSACTION_TYPES = {"award": "2", "amendment": "2", "release": "2", "disbursement": "3",
                     "repayment": "3"}
ACTIVITY_STATUS = {"approved": "2", "closed": "4", "revoked": "5"}  # Implementation, Closed,
# Cancelled (ActivityStatus codelist)
ORGANISATION_TYPE_GOVERNMENT, ORGANISATION_TYPE_LOCAL_GOVERNMENT = "10", "11"
ROLE_FUNDING, ROLE_IMPLEMENTING = "1", "4"
DATE_ACTUAL_START, DATE_ACTUAL_END = "2", "4"


def activities(grants: list[Grant], *, generated: str, funder: str | None = None) -> bytes:
    """The document as UTF-8 bytes; `generated` is an ISO date-time."""
    root = ET.Element("iati-activities", {"version": VERSION, "generated-datetime": generated})
    for grant in grants:
        _activity(root, grant, generated, funder or funder_id(grant.programme_id))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def write_activities(grants: Iterable[Grant], out: IO[bytes], *, generated: str,
                     funder: str | None = None) -> int:
    """Writes the bytes of `activities(grants, ...)` to `out` one activity at a time (memory
    does not grow with the grants); returns how many it wrote."""
    root = ET.Element("iati-activities", {"version": VERSION, "generated-datetime": generated})
    start, end = ET.tostring(root, encoding="unicode", short_empty_elements=False).split("></")
    out.write(f"<?xml version='1.0' encoding='utf-8'?>\n{start}>".encode())
    count = 0
    for grant in grants:
        parent = ET.Element(root.tag)  # each activity alone, indented as in the whole tree
        _activity(parent, grant, generated, funder or funder_id(grant.programme_id))
        ET.indent(parent[0], level=1)
        out.write(f"\n  {ET.tostring(parent[0], encoding='unicode')}".encode())
        count += 1
    out.write(f"{chr(10) if count else ''}</{end}\n".encode())
    return count


def activity_id(grant: Grant, funder: str) -> str:
    return f"{funder}-{grant.application_id}"


def _activity(root: ET.Element, grant: Grant, generated: str, funder: str) -> None:
    # when the activity's data last changed (its application's, recipient's or
    # programme's last event), as the schema asks; the export's time only without one
    activity = ET.SubElement(root, "iati-activity", {
        "last-updated-datetime": grant.last_updated or generated, XML_LANG: LANGUAGE,
        "default-currency": CURRENCY})
    ET.SubElement(activity, "iati-identifier").text = activity_id(grant, funder)
    _narrated(activity, "reporting-org", grant.funder,
              ref=funder, type=ORGANISATION_TYPE_GOVERNMENT)
    _narrated(activity, "title", f"{grant.programme_name}: {grant.recipient_name}")
    _narrated(activity, "description", "; ".join(grant.purposes) or grant.programme_name,
              type="1")
    _narrated(activity, "participating-org", grant.funder,
              ref=funder, role=ROLE_FUNDING, type=ORGANISATION_TYPE_GOVERNMENT)
    _narrated(activity, "participating-org", grant.recipient_name,
              ref=RECIPIENT_PREFIX + grant.recipient_id, role=ROLE_IMPLEMENTING,
              type=ORGANISATION_TYPE_LOCAL_GOVERNMENT)
    ET.SubElement(activity, "activity-status", {"code": ACTIVITY_STATUS[grant.status]})
    ET.SubElement(activity, "activity-date",
                  {"iso-date": grant.decided_on, "type": DATE_ACTUAL_START})
    if grant.closed_on:
        ET.SubElement(activity, "activity-date",
                      {"iso-date": grant.closed_on, "type": DATE_ACTUAL_END})
    for transaction in grant.transactions:
        _transaction(activity, grant, transaction, funder)


def _transaction(activity: ET.Element, grant: Grant, transaction: Transaction,
                 funder: str) -> None:
    element = ET.SubElement(activity, "transaction",
                            {"ref": f"{grant.application_id}-{transaction.transaction_id}"})
    ET.SubElement(element, "transaction-type", {"code": TRANSACTION_TYPES[transaction.kind]})
    ET.SubElement(element, "transaction-date", {"iso-date": transaction.on})
    ET.SubElement(element, "value", {"value-date": transaction.on}).text = format(
        transaction.amount, "f")
    _narrated(element, "description", transaction.kind)
    _narrated(element, "provider-org", grant.funder, ref=funder)
    _narrated(element, "receiver-org", grant.recipient_name,
              ref=RECIPIENT_PREFIX + grant.recipient_id)


def _narrated(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    ET.SubElement(element, "narrative").text = text
    return element
