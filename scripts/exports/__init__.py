"""Open-data exports (360Giving, IATI) and report documents (xlsx, html, pdf).

Public surface: `iter_grants(read_models, at=)` reads the grants once, one at a time
(`collect_grants`: as a list); `threesixtygiving.write_package` and `iati.write_activities`
stream them into a document (`threesixtygiving.package` / `dumps` and `iati.activities`
build one in memory); `documents.render` writes a report as xlsx, html or pdf.
"""

from scripts.exports.grants import Grant, Transaction, collect_grants, iter_grants

__all__ = ["Grant", "Transaction", "collect_grants", "iter_grants"]
