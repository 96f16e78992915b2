"""Phase totals (SPEC §5)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from api.schemas.common import AMOUNTS, DAY, TEXT, Public


class PhaseTotals(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "phase_id": TEXT,
        "requested_by_category": {**AMOUNTS, "description": "requested, by measure category"},
        "effective_on": {**DAY, "description": "with `effective_on`: the business date"},
    }
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"phase_id": "2020-1", "envelope": "16000000.00", "requested": "16000000.00",
         "awarded": "16000000.00", "released": "0.00", "committed": "16000000.00",
         "available": "0.00", "paid": "15990000.00", "repaid": "0.00",
         "net_paid": "15990000.00", "outstanding": "10000.00", "counts": {"approved": 443},
         "by_kind": {}, "requested_by_category": {}, "position": 5000}]})

    envelope: str
    requested: str
    awarded: str
    released: str
    committed: str
    available: str
    paid: str
    repaid: str
    net_paid: str
    outstanding: str
    counts: dict[str, int] = Field(default_factory=dict)
    by_kind: dict[str, Any] = Field(default_factory=dict)
    position: int
