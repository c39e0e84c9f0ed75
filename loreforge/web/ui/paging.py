"""Paging of the list pages: the page and page size a request asks for, checked as the service checks them."""

from __future__ import annotations

from fastapi import Request

from loreforge.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loreforge.errors import UserError

PAGE_SIZES = (25, 50, 100, 200)


def paging(request: Request) -> tuple[int, int]:
    """(page, page_size) from the query string (defaults: 1 and DEFAULT_PAGE_SIZE)."""
    try:
        at = int(request.query_params.get("page") or 1)
        size = int(request.query_params.get("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        raise UserError("Invalid paging", expected=f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}",
                        got=f"page={request.query_params.get('page')!r}, page_size={request.query_params.get('page_size')!r}") from None
    return at, size
