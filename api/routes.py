"""What each operation declares, read from FastAPI's dependency tree: its query
parameters, whether it needs an API key, and the roles it lets through (from
`requires(...)` and `acting_as(...)`). The OpenAPI document and the query-parameter
check both read it here, so neither keeps a list of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import routing
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute

from api.deps import ROLES_OF, current_user, get_read_models


@dataclass(frozen=True)
class RouteFacts:
    query: frozenset[str]
    needs_key: bool
    roles: tuple[str, ...]
    reads_projections: bool
    repeatable: frozenset[str] = frozenset()  # query parameters that take a list


def operations(routes: Sequence[BaseRoute]) -> Iterator[tuple[Any, RouteFacts]]:
    """Every documented operation as an APIRoute-like object, with its facts.

    FastAPI ≥ 0.13x resolves included routers lazily: the route as served (prefix,
    router-level dependencies) is a route context, not the router's own APIRoute.
    """
    iterate = getattr(routing, "iter_route_contexts", None)
    served: Iterator[Any] = iterate(routes) if iterate else iter(routes)
    for route in served:
        if isinstance(_original(route), routing.APIRoute) and route.include_in_schema:
            yield route, facts_of(route.dependant)


def by_served_route(routes: Sequence[BaseRoute]) -> dict[int, RouteFacts]:
    """Facts by `id()` of the APIRoute that `scope["route"]` holds when it is served."""
    found: dict[int, RouteFacts] = {}
    for route, facts in operations(routes):
        key = id(_original(route))
        seen = found.get(key)
        found[key] = facts if seen is None else replace(
            seen, query=seen.query | facts.query, repeatable=seen.repeatable | facts.repeatable)
    return found


def facts_of(dependant: Dependant) -> RouteFacts:
    query: set[str] = set()
    repeatable: set[str] = set()
    roles: list[str] = []
    calls: set[object] = set()
    for node in _walk(dependant):
        query.update(field.alias for field in node.query_params)
        repeatable.update(field.alias for field in node.query_params
                          if _takes_a_list(field.field_info.annotation))
        calls.add(node.call)
        if node.call is not None:
            roles.extend(r for r in ROLES_OF.get(node.call, ()) if r not in roles)
    return RouteFacts(query=frozenset(query), needs_key=current_user in calls,
                      roles=tuple(roles), reads_projections=get_read_models in calls,
                      repeatable=frozenset(repeatable))


def _takes_a_list(annotation: Any) -> bool:
    """`list[str]`, `list[str] | None`, `Annotated[list[str], …]`: FastAPI collects every
    value of the key; any other type takes one (and silently the last of several)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType, Annotated):
        return any(_takes_a_list(arg) for arg in get_args(annotation))
    return origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set)


def _original(route: Any) -> Any:
    return getattr(route, "original_route", route)


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)
