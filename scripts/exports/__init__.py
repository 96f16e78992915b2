"""Open-data exports (360Giving, IATI) and report documents (xlsx, html, pdf).

Public surface: `collect_grants(read_models, at=)` reads the grants once;
`threesixtygiving.package` / `threesixtygiving.dumps` and `iati.activities` turn them
into documents; `documents.render` writes a report as xlsx, html or pdf.
"""

from scripts.exports.grants import Grant, Transaction, collect_grants

__all__ = ["Grant", "Transaction", "collect_grants"]
