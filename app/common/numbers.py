"""Whole numbers written in a request's text: a path segment, a query parameter, a code.

Only the ASCII digits 0-9 make a number here. ``str.isdigit()`` also takes superscript
and circled digits (², ①), which ``int()`` refuses, and ``int()`` reads other scripts'
digits (٣ is 3): neither is how anybody writes an id or a page in a URL. Length is
checked before ``int()``, which refuses more than a few thousand digits.
"""

import re

from app.common.schemas import MAX_ID

_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str, *, most: int = MAX_ID) -> int | None:
    """The number ``text`` writes in ASCII digits, if it is at most ``most``; else None."""
    if len(text) > len(str(most)) or not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= most else None
