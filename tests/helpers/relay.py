"""A TCP relay between the service and its database that can stop forwarding, as a hung
network or proxy does: connections stay open, nothing gets through either way."""

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator

from sqlalchemy.engine import make_url


class Relay:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closing = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.pending: list[socket.socket] = []

    def stall(self) -> None:
        """Stop forwarding: bytes stay where they are, new connections hang."""
        self.forwarding.clear()

    def resume(self) -> None:
        self.forwarding.set()

    def _run(self) -> None:
        while not self.closing:
            for key, _ in self.selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    client, _ = self.listener.accept()
                    self.pending.append(client)
                elif self.forwarding.is_set():
                    self._forward(key.fileobj, key.data)
            if self.forwarding.is_set():
                while self.pending:
                    self._connect(self.pending.pop())

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        self.selector.register(client, selectors.EVENT_READ, server)
        self.selector.register(server, selectors.EVENT_READ, client)

    def _forward(self, source: socket.socket, target: socket.socket) -> None:
        try:
            data = source.recv(65536)
            if data:
                target.sendall(data)
                return
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sock)
            sock.close()

    def close(self) -> None:
        self.closing = True
        self.thread.join(timeout=5)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        for client in self.pending:
            client.close()
        self.selector.close()


@contextlib.contextmanager
def relay_to(database_url: str) -> Iterator[tuple[Relay, str]]:
    """A relay in front of the PostgreSQL server of ``database_url``, and the URL through it."""
    url = make_url(database_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.thread.start()
    try:
        yield (
            relay,
            url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False),
        )
    finally:
        relay.close()
