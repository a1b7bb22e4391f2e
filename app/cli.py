"""The ``kep`` command for operators: serve, migrate, create-user, demo, worker."""

import argparse
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from app.config import Settings, get_settings
from app.models import Institution, Role

PACKAGE = Path(__file__).resolve().parent


def migrations_folder() -> Path:
    """The migrations: shipped inside the installed package, or, in a source tree (an
    editable install), the top-level migrations/ folder beside the package."""
    for folder in (PACKAGE / "migrations", PACKAGE.parent / "migrations"):
        if (folder / "env.py").is_file():
            return folder
    raise SystemExit(
        f"The migrations are missing: neither {PACKAGE}/migrations nor the source tree's"
    )


if TYPE_CHECKING:
    import uvicorn

    from app.notifications.sender import Sender


def alembic_config(url: str) -> Config:
    """Alembic's configuration, made here rather than read from alembic.ini, so that
    ``kep`` migrates from whatever folder it runs in."""
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.attributes["url"] = url
    return config


def migrate(settings: Settings, *, own_logging: bool = True) -> None:
    """Bring the database to the newest schema; the plan's catalogue comes with it.
    ``own_logging``: Alembic's plain-text logging (for commands run by hand)."""
    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = own_logging
    command.upgrade(config, "head")


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = "KEP_" + "_".join(str(part) for part in problem["loc"]).upper()
            where = f"{name}: " if problem["loc"] else ""
            lines.append(f"  {where}{problem['msg']}")
        raise SystemExit("Impossible setting:\n" + "\n".join(lines)) from None


def _metrics_folder() -> None:
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


def _serve(args: argparse.Namespace) -> None:
    _metrics_folder()
    import logging.config

    import uvicorn

    from app.logs import log_config

    settings = _settings_or_exit()
    logging.config.dictConfig(log_config())  # the migrations' lines are JSON too
    migrate(settings, own_logging=False)
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_config=log_config(),
        access_log=False,  # the service writes its own, without secrets
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    with _sender_beside(settings):
        if config.workers == 1:
            server = uvicorn.Server(config)
            # uvicorn sends itself the signal it stopped for once it has shut down: end
            # by it as an exit, so that the sender is stopped on the way out.
            signal.signal(signal.SIGTERM, _exit)
            server.run()
            if not server.started:
                raise SystemExit(3)
            return
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[listening_socket(config)]).run()


def _exit(*_signal: object) -> None:
    raise SystemExit(0)


# The sender's priority below the workers' (nice(2)): under load the CPU goes to the
# requests first, and the outbox waits for a quieter moment. Not on SQLite, where each
# of the sender's transactions holds the one write lock that every request's change
# waits for: a sender kept waiting for the CPU would keep them waiting too.
SENDER_NICENESS = 10


@contextlib.contextmanager
def _sender_beside(settings: Settings) -> Iterator[None]:
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


def _migrate(_args: argparse.Namespace) -> None:
    migrate(_settings_or_exit())


def _create_user(args: argparse.Namespace) -> None:
    from app.accounts import service as users
    from app.accounts.schemas import UserCreate
    from app.clock import system_clock
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError

    settings = _settings_or_exit()
    migrate(settings)
    try:
        data = UserCreate(
            name=args.name,
            email=args.email,
            role=args.role,
            institution=args.institution,
            member_state=args.member_state,
            region=args.region,
        )
    except ValidationError as error:
        raise SystemExit(f"Cannot create the account: {error.errors()[0]['msg']}") from None
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            now = system_clock()
            account = users.create_account(
                session=session, data=data, token_label="created on the command line", now=now
            )
    except AppError as error:
        raise SystemExit(f"Cannot create the account: {error.detail}") from None
    finally:
        engine.dispose()
    print(f"Created {data.role} {data.name} <{account.user.email}> with id {account.user.id}.")
    print("API token (shown once, keep it safe):")
    print(account.secret)


def _demo(_args: argparse.Namespace) -> None:
    from app.clock import system_clock
    from app.db import make_engine, make_sessionmaker
    from app.demo import NotEmpty, fill, fresh_start

    settings = _settings_or_exit()
    migrate(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            accounts = fill(session=session, settings=settings, now=system_clock())
    except NotEmpty as error:
        raise SystemExit(str(error)) from None
    finally:
        engine.dispose()
    print("A fictional programme is in place: a joint seminar scheduled with its agenda,")
    print("a call for topics open, peer-to-peer events (one awaiting publication).")
    print()
    print("Demo accounts, one per role, with their API tokens")
    print("(send one as 'Authorization: Bearer <token>', or paste it into /docs, Authorize):")
    width = max(len(account.who) for account in accounts)
    for account in accounts:
        print(f"  {account.key:<22} {account.who:<{width}}  {account.token}")
    print()
    print(f"To start again from an empty database: {fresh_start(settings.database_url)}.")


def _worker(args: argparse.Namespace) -> None:
    import logging.config

    from app.db import make_engine, make_sessionmaker
    from app.logs import log_config
    from app.notifications import reactions  # noqa: F401 - the same listeners as the service
    from app.notifications.sender import Sender
    from app.watchdog import Timeouts

    settings = _settings_or_exit()
    logging.config.dictConfig(log_config())
    if args.beside is None:
        migrate(settings, own_logging=False)  # `kep serve` has, for the one it starts
    if args.lower:
        os.nice(SENDER_NICENESS)
    engine = make_engine(settings.database_url, pool_size=2, timeouts=Timeouts.of(settings))
    sender = Sender(make_sessionmaker(engine), settings)
    try:
        if args.once:
            done = sender.run_once()
            print(f"{done.sent} message(s) sent to {sender.where}, {done.failed} not delivered.")
            return
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: sender.stop())
        if args.beside is not None:
            _stop_when_gone(args.beside, sender)
        sender.run()
    finally:
        engine.dispose()


def _stop_when_gone(server: int, sender: "Sender") -> None:
    """Stop the sender once the server that started it has ended (even if killed)."""

    def watch() -> None:
        while not sender.stopping.wait(1):
            if os.getppid() != server:
                sender.stop()

    threading.Thread(target=watch, name="kep-server-watch", daemon=True).start()


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _port(text: str) -> int:
    port = _whole_number(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a TCP port: 1 to 65535, or 0 for any free one"
        )
    return port


def _workers(text: str) -> int:
    workers = _whole_number(text)
    if workers < 1:
        raise argparse.ArgumentTypeError(
            f"{workers} is too few: at least one worker serves the requests"
        )
    return workers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kep", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=_port, default=8000, help="TCP port, 1 to 65535; 0: any free port"
    )
    serve.add_argument("--workers", type=_workers, default=1, help="worker processes, 1 or more")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply migrations only").set_defaults(run=_migrate)

    create = commands.add_parser("create-user", help="create an account and print its token")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--institution", choices=[institution.value for institution in Institution])
    create.add_argument("--member-state", dest="member_state")
    create.add_argument("--region")
    create.set_defaults(run=_create_user)

    demo = commands.add_parser("demo", help="fill an empty database with a fictional programme")
    demo.set_defaults(run=_demo)

    worker = commands.add_parser(
        "worker", help="deliver outgoing mail and time-based notices, until stopped"
    )
    worker.add_argument(
        "--once", action="store_true", help="one round: fire what is due, deliver, and exit"
    )
    worker.add_argument("--beside", type=int, help=argparse.SUPPRESS)  # `kep serve`'s pid
    worker.add_argument("--lower", action="store_true", help=argparse.SUPPRESS)  # nice(2)
    worker.set_defaults(run=_worker)

    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    # Say which migrations run, as alembic's own command line does.
    logging.basicConfig(format="%(levelname)-5.5s [%(name)s] %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)
    try:
        args.run(args)
    except (OperationalError, InterfaceError) as error:
        # An operator's mistake (a wrong URL, a stopped server), not a bug: one line.
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
        reason = (str(error.orig or error).strip().splitlines() or ["no answer"])[0]
        raise SystemExit(f"Cannot reach the database {url}: {reason}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
