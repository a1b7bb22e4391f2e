"""The service run as operators run it: `kep serve` in processes of its own."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent


def run_pytest(*args: str, env: Mapping[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The suite (or part of it) run in a process of its own, from the source tree, with
    ``env`` over this process's variables (None takes one away). pytest-xdist's variables
    of a worker that runs this are not passed on: the run is a suite of its own."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    for name, value in env.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    process: subprocess.Popen
    base_url: str
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start(database_url: str, log: Path, *args: str, **settings: str) -> Served:
    port = free_port()
    env = {**os.environ, "KEP_DATABASE_URL": database_url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update({f"KEP_{name.upper()}": value for name, value in settings.items()})
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"kep serve ended early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(served.base_url + "/health", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            served.process.kill()
            raise RuntimeError(f"kep serve did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            for child in map(int, (task / "children").read_text().split()):
                found += [child, *descendants(child)]
    return found


def command_line(pid: int) -> list[str]:
    """The process's arguments; none for one that ended since it was listed."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []


def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[16])


def ended(pid: int) -> bool:
    """Gone, or a zombie whose parent has not yet collected it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


@contextlib.contextmanager
def serving(database_url: str, log: Path, *args: str, **settings: str) -> Iterator[Served]:
    served = start(database_url, log, *args, **settings)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait()
