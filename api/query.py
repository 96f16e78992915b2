"""Unknown query parameters, and a parameter of one value given twice, are refused (SPEC §4:
a misspelt field never passes silently).

One dependency on the whole app compares the request's query keys with the parameters
its operation declares; FastAPI itself ignores keys it was not asked for.
"""

from __future__ import annotations

from collections import Counter

from fastapi import FastAPI, Request

from api.deps import authenticate
from api.routes import RouteFacts, by_served_route
from ledger.errors import ValidationFailed


def route_facts(app: FastAPI) -> dict[int, RouteFacts]:
    """Every operation's facts by its served route, built once: on first use, or by a
    served app before it accepts a connection (api/main.py)."""
    state = app.state
    if getattr(state, "route_facts", None) is None:
        state.route_facts = by_served_route(app.routes)
    facts: dict[int, RouteFacts] = state.route_facts
    return facts


async def refuse_unknown_query(request: Request) -> None:
    """Raises ValidationFailed (422) naming the unknown keys and the accepted ones.

    An operation that needs a key authenticates first, so a caller without one still
    gets 401 before learning anything about the parameters.
    """
    if not request.query_params:
        return
    facts = route_facts(request.app).get(id(request.scope.get("route")))
    if facts is None:  # not a documented operation (/docs, /redoc, /)
        return
    counts = Counter(key for key, _ in request.query_params.multi_items())
    unknown = sorted(counts.keys() - facts.query)
    # a key given twice where one value is taken: FastAPI would keep the last one
    repeated = sorted({key for key, n in counts.items() if n > 1} - facts.repeatable
                      - set(unknown))
    if not unknown and not repeated:
        return
    if facts.needs_key:
        await authenticate(request)
    if unknown:
        accepted = ", ".join(sorted(facts.query)) or "none"
        raise ValidationFailed(f"unknown query parameter(s): {', '.join(unknown)} "
                               f"(this endpoint accepts: {accepted})")
    raise ValidationFailed(f"query parameter(s) given more than once: {', '.join(repeated)} "
                           "(each takes one value)")
