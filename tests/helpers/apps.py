"""Letting go of the applications that tests make."""

from fastapi.dependencies import models


def forget_endpoints() -> None:
    """Empty FastAPI's caches of what each endpoint and dependency is (a coroutine, a
    generator...), which keep up to 4,096 callables each. The documentation pages'
    endpoints close over their application, so those caches kept every application a
    test made alive, with its routes and engines: the heap grew test by test, and each
    collection of the oldest generation took longer (pauses of several seconds; a quarter
    of the time of the two files measured). A service makes one application per process
    and never needs this.
    """
    for value in vars(models).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
