"""Lists that people browse and search: a page and how many the whole list holds."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from pydantic import Field

from api.schemas.common import NO_CONTROL_PATTERN, Page


class CountedPage(Page):
    """A page of a list; `total` counts every row of the list (with its filters and
    search), not only this page's."""

    total: int = Field(ge=0, examples=[443])


def search_text(description: str, example: str) -> Any:
    """A search term in the query: bounded, no control characters (api.deps.FilterText)."""
    return Query(max_length=200, pattern=NO_CONTROL_PATTERN, description=description,
                 examples=[example])
