"""Windows on long lists: keyset pages ("load more") and a plain-text search.

A page is the rows after a cursor, in a fixed order that ends in the primary key; the cursor
holds the last row's ordering values, so the next page is an indexed `WHERE (a, id) > (…)`,
as fast on page 200 as on page 1, and no row is skipped or repeated when rows are added
meanwhile (unlike OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from operator import or_

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

PAGE_SIZE = 25
SEARCH_MAX_LENGTH = 100
BAD_PAGE_LINK = "This page link is not valid (mistyped or cut short). Open the list again."


class BadCursor(ValueError):
    """The `after` parameter is not a cursor this list made."""


@dataclass
class Page:
    rows: list
    # The cursor of the next page, "" on the last one.
    next_cursor: str

    def next_query(self, request: HttpRequest) -> str:
        """The current query string with `after` moved on to the next page."""
        query = request.GET.copy()
        query["after"] = self.next_cursor
        return query.urlencode()


def keyset_page(
    queryset: QuerySet, *, ordering: Sequence[str], after: str = "", size: int = PAGE_SIZE
) -> Page:
    """The `size` rows of `queryset` after the cursor `after` (from the start when empty).

    `ordering` names fields of the model itself, each optionally with "-", and must end in a
    unique one ("id"), so that rows never tie. Raises BadCursor for a cursor it can't read.
    """
    queryset = queryset.order_by(*ordering)
    if after:
        queryset = queryset.filter(_after(ordering, _decode(after, queryset.model, ordering)))
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return Page(rows=rows, next_cursor="")
    rows = rows[:size]
    return Page(rows=rows, next_cursor=_encode(rows[-1], ordering))


def page_from_request(
    request: HttpRequest, queryset: QuerySet, *, ordering: Sequence[str], size: int = PAGE_SIZE
) -> Page:
    return keyset_page(queryset, ordering=ordering, after=request.GET.get("after", ""), size=size)


def list_context(request: HttpRequest, page: Page, q: str) -> dict:
    """What a list template needs around its rows: the links on, back, and without search."""
    return {
        "page": page,
        "next_query": page.next_query(request) if page.next_cursor else "",
        "continued": bool(request.GET.get("after")),
        "start_query": query_without(request, "after"),
        "clear_query": query_without(request, "after", "q"),
        "q": q,
    }


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string without `names` (links back to the start, or without search)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def search_query(request: HttpRequest) -> str:
    """The search text (`q`) of a list page, trimmed to something a person would type."""
    return " ".join(request.GET.get("q", "").split())[:SEARCH_MAX_LENGTH]


def search_filter(text: str, fields: Sequence[str]) -> Q:
    """Rows where every word of `text` is in one of `fields` (case-insensitive)."""
    words = text.split()
    if not words:
        return Q()
    return reduce(
        lambda both, word: both & reduce(or_, (Q(**{f"{f}__icontains": word}) for f in fields)),
        words,
        Q(),
    )


def _after(ordering: Sequence[str], values: list) -> Q:
    """(a, b, id) after (x, y, z) in the given directions: a > x, or a = x and b > y, or …"""
    clauses = []
    for position, spec in enumerate(ordering):
        name = spec.lstrip("-")
        lookup = "lt" if spec.startswith("-") else "gt"
        equal = {field.lstrip("-"): values[i] for i, field in enumerate(ordering[:position])}
        clauses.append(Q(**equal, **{f"{name}__{lookup}": values[position]}))
    return reduce(or_, clauses)


def _encode(row: Model, ordering: Sequence[str]) -> str:
    values = []
    for spec in ordering:
        value = getattr(row, spec.lstrip("-"))
        values.append(value.isoformat() if isinstance(value, date | datetime) else value)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, model: type[Model], ordering: Sequence[str]) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise BadCursor(cursor) from error
    if not isinstance(values, list) or len(values) != len(ordering):
        raise BadCursor(cursor)
    try:
        fields = [model._meta.get_field(spec.lstrip("-")) for spec in ordering]
        decoded = [
            field.to_python(value)  # type: ignore[union-attr]  # ordering names concrete fields
            for field, value in zip(fields, values, strict=True)
        ]
    except (FieldDoesNotExist, ValidationError, TypeError) as error:
        raise BadCursor(cursor) from error
    if any(value is None for value in decoded):
        raise BadCursor(cursor)
    return decoded
