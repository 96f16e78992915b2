"""The lists: programmes, a programme's phases, recipients and applications, each a page
in id order with its `total` (how many the whole list holds), searchable where people
look things up (projections/lookups.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from ledger.errors import NotFound, ValidationFailed
from projections import lookups, totals
from projections.base import check_limit, decode_cursor, encode_cursor
from projections.grants import ENTITIES
from projections.state import (
    APPLICATION_STATUSES,
    StateQuery,
    application_json,
    programme_answer,
)

Json = dict[str, Any]


def _page(q: StateQuery, kind: str, id_field: str, *, cursor: str | None, limit: int,
          search: list[lookups.Term] | None = None, total: int | None = None,
          **filters: Any) -> tuple[list[Json], Json]:
    """The states of one page, and the page's frame (`next_cursor`, `total`, `position`);
    `total` where the caller knows it, else the list's rows are counted."""
    limit = check_limit(limit)
    terms = search or []
    # A cursor pages the list it came from: its kind and what it was filtered by.
    asked = repr(([(k, v) for k, v in sorted(filters.items()) if v is not None], terms))
    listed = f"{kind}:{hashlib.blake2s(asked.encode(), digest_size=6).hexdigest()}"
    states = q.many(kind, after=decode_cursor(cursor, listed), limit=limit + 1,
                    search=terms, **filters)
    more = len(states) > limit
    states = states[:limit]
    return states, {
        "next_cursor": encode_cursor(states[-1][id_field], listed) if more else None,
        "total": q.count(kind, search=terms, **filters) if total is None else total,
        "position": q.at,
    }


def programmes_page(q: StateQuery, *, cursor: str | None, limit: int) -> Json:
    states, frame = _page(q, "programme", "programme_id", cursor=cursor, limit=limit)
    items = [programme_answer(s, q.at) for s in states]
    return {"items": items, **frame}


def phases_page(q: StateQuery, programme_id: str, *, cursor: str | None, limit: int) -> Json:
    q.require("programme", programme_id)
    states, frame = _page(q, "phase", "phase_id", cursor=cursor, limit=limit,
                          programme_id=programme_id)
    # each with its envelope's committed and available, as the phase answers (one seek each)
    return {"items": [totals.phase_answer(q, str(s["phase_id"])) for s in states], **frame}


def recipients_page(q: StateQuery, *, text: str | None, cursor: str | None, limit: int) -> Json:
    states, frame = _page(q, "recipient", "recipient_id", cursor=cursor, limit=limit,
                          search=lookups.search_terms(q=text))
    return {"items": states, **frame}


def applications_page(
    q: StateQuery, *, phase_id: str | None, recipient_id: str | None, status: str | None,
    reference: str | None = None, text: str | None = None, cursor: str | None, limit: int,
) -> Json:
    if status is not None and status not in APPLICATION_STATUSES:
        raise ValidationFailed(f"status: one of {', '.join(APPLICATION_STATUSES)}")
    terms = lookups.search_terms(q=text, reference=reference)
    counted = (_applications_counted(q, phase_id, status)
               if recipient_id is None and not terms else None)
    states, frame = _page(q, "application", "application_id", cursor=cursor, limit=limit,
                          search=terms, total=counted, phase_id=phase_id,
                          recipient_id=recipient_id, status=status)
    names = lookups.recipient_names(q.tx, ENTITIES.name(q.tag),
                                    {s["recipient_id"] for s in states})
    items = [{**application_json(s, q.at), "recipient_name": names.get(s["recipient_id"])}
             for s in states]
    return {"items": items, **frame}


def _applications_counted(q: StateQuery, phase_id: str | None, status: str | None) -> int:
    """How many applications of `phase_id` (None: of every phase) have `status` (None: any),
    from each phase's running counts (`n|{status}`, projections/figures.py), now or as of
    `q.at`: one seek per phase, where counting the list's rows grew with the phase (a
    national call's 100,000 applications: tens of milliseconds now, more as of a past
    position, where each row's state is looked up in the history)."""
    phases = ([phase_id] if phase_id is not None
              else [str(s["phase_id"]) for s in q.many("phase")])
    wanted = f"n|{status}"
    total = 0
    for each in phases:
        try:
            _, figures = totals.scope_at(q, "phase", each)
        except NotFound:
            continue  # no such phase (then): it holds no application
        total += sum(n for key, n in figures.items()
                     if key == wanted or (status is None and key.startswith("n|")))
    return total
