"""The ``kep`` command for operators: serve, migrate, create-user, demo, worker."""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from app import serving
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
    try:
        command.upgrade(config, "head")
    except CommandError as error:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        # A revision this release does not have: going back to an earlier release.
        newer = isinstance(error.__cause__, ResolutionError)
        hint = "; a newer release of the service has migrated it: run that one" if newer else ""
        raise SystemExit(f"Cannot migrate the database {url}: {error}{hint}") from None


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


# Addresses served to this host alone, where the default public base URL holds.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _serve(args: argparse.Namespace) -> None:
    serving.metrics_folder()
    import logging.config

    import uvicorn

    from app.logs import log_config

    settings = _settings_or_exit()
    logging.config.dictConfig(log_config())  # the migrations' lines are JSON too
    if args.host not in LOOPBACK and "public_base_url" not in settings.model_fields_set:
        logging.getLogger("app.serving").warning(
            "KEP_PUBLIC_BASE_URL is not set: links in the feeds, the pages and the mail "
            "point to %s, which only this host reaches; set it to the address clients use",
            settings.base_url,
        )
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
    with serving.sender_beside(settings):
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

        Multiprocess(config, sockets=[serving.listening_socket(config)]).run()


def _exit(*_signal: object) -> None:
    raise SystemExit(0)


def _migrate(_args: argparse.Namespace) -> None:
    migrate(_settings_or_exit())


def _create_user(args: argparse.Namespace) -> None:
    from app.accounts import service as users
    from app.accounts.schemas import UserCreate
    from app.clock import system_clock
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError

    settings = _settings_or_exit()
    try:  # before the database is touched: a refused account changes nothing
        data = UserCreate(
            name=args.name,
            email=args.email,
            role=args.role,
            institution=args.institution,
            member_state=args.member_state,
            region=args.region,
        )
    except ValidationError as error:
        first = error.errors()[0]
        loc = first["loc"]  # empty for a rule between options (a secretariat's institution)
        option = f"--{str(loc[0]).replace('_', '-')}: " if loc else ""
        raise SystemExit(f"Cannot create the account: {option}{first['msg']}") from None
    migrate(settings)
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
        os.nice(serving.SENDER_NICENESS)
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
