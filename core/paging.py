"""Pages of long answers: a page size the caller chooses within bounds, and opaque tokens that name where
the previous page ended (keyset paging: stable while items come and go, each item that stays is listed
exactly once)."""

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from core import limits

T = TypeVar("T")

MAX_PAGE_SIZE = 10_000
"""Items in one page."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str
    """Where the next page starts; empty on the last page."""


def page_size(value: int, default: int) -> int:
    """The size asked for, `default` for 0; InvalidParameter when negative or beyond MAX_PAGE_SIZE."""
    if value < 0 or value > MAX_PAGE_SIZE:
        raise limits.invalid(f"page_size must be between 0 and {MAX_PAGE_SIZE}.")
    return value or default


def token(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode()


def after(page_token: str) -> str:
    """The key a token names; InvalidParameter for one this server did not give."""
    try:
        key = base64.b64decode(page_token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (UnicodeError, binascii.Error, ValueError):
        key = ""
    if not key or token(key) != page_token:
        raise limits.invalid("page_token is not one this server gave; start again without it.")
    return key
