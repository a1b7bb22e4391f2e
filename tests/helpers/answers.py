"""Reading the service's answers in tests."""

from typing import Any


def detail_of(response: Any) -> str:
    """The answer's detail as text: the sentence of a 401, 403, 404 or 409, or the
    messages of a 422's list of what is wrong."""
    detail = response.json()["detail"]
    if isinstance(detail, list):
        return " | ".join(error["msg"] for error in detail)
    return detail
