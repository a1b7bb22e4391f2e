"""A bounded, thread-safe store of answers kept in memory, least recently served first
out.

What goes in is keyed by a version read from the database (a feed's ETag, the state of
the data behind an answer), so an entry found here is the one that version gives:
another process cannot have changed it without moving the version, and an outdated
entry is simply never asked for again and leaves when room is needed.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, max_bytes: int, size: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._size_of = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self.max_bytes:
            return
        with self._lock:
            previous = self._values.pop(key, None)
            if previous is not None:
                self._size -= self._size_of(previous)
            self._values[key] = value
            self._size += size
            while self._size > self.max_bytes:
                _key, dropped = self._values.popitem(last=False)
                self._size -= self._size_of(dropped)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._values)


class FeedCache(BoundedCache[str, bytes]):
    """Whole feed bodies, kept by their ETag."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, size=len)
