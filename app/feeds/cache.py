"""Whole feed bodies, kept by their ETag.

An ETag is made from the feed's version as the database reports it, so a body found
here is the one that version serialises: another process cannot have changed it
without moving the version, and a stale body is simply never asked for again. The
cache is bounded; the least recently served bodies leave first.
"""

import threading
from collections import OrderedDict


class FeedCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(etag)
            if body is not None:
                self._bodies.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            previous = self._bodies.pop(etag, None)
            if previous is not None:
                self._size -= len(previous)
            self._bodies[etag] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _etag, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._bodies)
