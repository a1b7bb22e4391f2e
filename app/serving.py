"""How ``kep serve`` runs: one folder for the workers' metrics, a listening socket of
its own for each worker, and one mail sender beside them, in a process of its own."""

import atexit
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import Settings, get_settings

if TYPE_CHECKING:
    import uvicorn


def metrics_folder() -> None:
    """Give the workers one folder for their metrics, empty at start, before any of them
    (or this process) imports the metrics client, which reads the variable at import."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # the operator's choice: clear what an earlier run left
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
        return
    folder = tempfile.mkdtemp(prefix="kep-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


# The sender's priority below the workers' (nice(2)): under load the CPU goes to the
# requests first, and the outbox waits for a quieter moment. Not on SQLite, where each
# of the sender's transactions holds the one write lock that every request's change
# waits for: a sender kept waiting for the CPU would keep them waiting too.
SENDER_NICENESS = 10


@contextlib.contextmanager
def sender_beside(settings: Settings) -> Iterator[None]:
    """One mail sender for all the workers, in a process of its own (`kep worker`; at a
    lower priority on PostgreSQL), rather than a thread in each: delivering mail
    (building each message, one transaction per message) took a third of a worker's
    time under a burst of registrations. Unless KEP_SEND_MAIL_IN_PROCESS=0, where a
    `kep worker` runs apart. Started again if it ends; stopped with the server, and on
    its own if the server is gone."""
    if not settings.send_mail_in_process:
        yield
        return
    # Neither the workers nor, with one worker, this process send anything themselves.
    before = os.environ.get(IN_PROCESS)
    os.environ[IN_PROCESS] = "0"
    get_settings.cache_clear()
    sender = _SenderProcess(lower=not settings.database_url.startswith("sqlite"))
    try:
        yield
    finally:
        sender.stop()
        if before is None:
            del os.environ[IN_PROCESS]
        else:
            os.environ[IN_PROCESS] = before
        get_settings.cache_clear()


IN_PROCESS = "KEP_SEND_MAIL_IN_PROCESS"


class _SenderProcess:
    """`kep worker --beside`, kept running: started again a second after it ends. In a
    process group of its own, so that Ctrl-C in a terminal reaches the server only,
    which stops the sender once its workers have stopped."""

    def __init__(self, *, lower: bool) -> None:
        self.command = [sys.executable, "-m", "app.cli", "worker", "--beside", str(os.getpid())]
        if lower:
            self.command.append("--lower")
        self.process = self._start()
        self.stopping = threading.Event()
        self.keeper = threading.Thread(target=self._keep, name="kep-sender-keeper", daemon=True)
        self.keeper.start()

    def _keep(self) -> None:
        while not self.stopping.wait(1):
            code = self.process.poll()
            if code is not None:
                logging.getLogger("app.notifications").warning(
                    "the mail sender ended (exit code %s); it is started again", code
                )
                self._ended(self.process.pid)
                self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, process_group=0)

    def stop(self) -> None:
        from app.notifications.sender import STOP_WAIT

        self.stopping.set()
        self.keeper.join()
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:  # a delivery cut off goes again once its claim ends
            self.process.kill()
            self.process.wait()
        self._ended(self.process.pid)

    @staticmethod
    def _ended(pid: int) -> None:
        from app import metrics

        metrics.process_ended(pid)  # the live gauges it left in the workers' folder


def listening_socket(config: "uvicorn.Config") -> socket.socket:
    """The address the workers listen on, one listening socket per worker.

    uvicorn gives every worker the one socket it bound; each worker then accepts as
    many waiting connections as it can whenever it wakes, so whichever wakes first
    takes most of a burst (10/0 and 46/4 were seen) and the other idles. This socket
    is bound with ``SO_REUSEPORT`` but does not listen; what each worker receives of
    it (``_listen_in_worker``, when it is handed over) is a socket of its own,
    listening on the same address, and the kernel spreads new connections over them.

    Nagle's algorithm is off on both: uvicorn binds without naming TCP as the
    protocol, so asyncio would not switch it off on accepted connections, and an
    answer written in two parts (headers, then body) would wait for the client's
    delayed acknowledgement, 40 ms on Linux, on every request. Accepted connections
    inherit the option from the listening socket.
    """
    family, kind, protocol, _name, address = socket.getaddrinfo(
        config.host, config.port, type=socket.SOCK_STREAM
    )[0]
    # SO_REUSEPORT would let this server share the address with one already listening
    # on it (an earlier release left running): bind without it first, to find out.
    with socket.socket(family, kind, protocol) as alone:
        alone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            alone.bind(address)
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise SystemExit(f"Cannot listen on {config.host}:{config.port}: {reason}") from None
        address = alone.getsockname()  # port 0: the free port found
    sock = _PerWorker(family, kind, protocol)
    sock.backlog = config.backlog
    _configure(sock)
    sock.bind(address)
    return sock


def _configure(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PerWorker(socket.socket):
    """Handed to a worker process as a listening socket of its own (see above)."""

    backlog = 2048

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (
            _listen_in_worker,
            (self.family, self.type, self.proto, self.getsockname(), self.backlog),
        )


def _listen_in_worker(
    family: int, kind: int, protocol: int, address: tuple[object, ...], backlog: int
) -> socket.socket:
    sock = socket.socket(family, kind, protocol)
    _configure(sock)
    sock.bind(address)
    sock.listen(backlog)
    return sock
