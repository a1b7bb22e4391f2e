"""`kep serve` as operators run it: JSON logs, metrics that add up across workers, and a
shutdown that finishes what is in flight, refuses what is new, and ends in a set time."""

import contextlib
import json
import os
import signal
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest

from tests.helpers.processes import command_line, descendants, ended, niceness, serving
from tests.helpers.waiting import until
from tests.test_operations import sample

SECRET = "Zq9-secret-in-a-feed-path"
# A clean stop: uvicorn ends by the signal it was sent, once it has shut down.
STOPPED = (0, -signal.SIGTERM)


def migrated_sqlite(tmp_path) -> tuple[str, str]:
    path = tmp_path / "kep.db"
    return f"sqlite:///{path}", str(path)


def test_served_logs_are_json_lines_with_request_ids_and_no_secrets(tmp_path):
    url, _ = migrated_sqlite(tmp_path)
    with serving(url, tmp_path / "log") as served:
        answer = httpx.get(served.base_url + "/actions")
        httpx.get(f"{served.base_url}/feeds/{SECRET}.ics?token={SECRET}")
        httpx.get(served.base_url + "/me", headers={"Authorization": f"Bearer kep_{SECRET}"})
        httpx.post(f"{served.base_url}/invitations/{SECRET}")
        assert served.stop() in STOPPED
    text = (tmp_path / "log").read_text()
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "kep.access"]
    [actions] = [line for line in access if line["path"] == "/actions"]
    assert actions["request_id"] == answer.headers["x-request-id"]
    assert {"/feeds/***?token=***", "/invitations/***", "/me"} <= {line["path"] for line in access}
    assert not any(line["logger"] == "uvicorn.access" for line in lines)


def test_metrics_add_up_across_workers(tmp_path):
    url, _ = migrated_sqlite(tmp_path)
    with serving(url, tmp_path / "log", "--workers", "2") as served:
        for _ in range(40):  # a new connection each: the workers share them out
            assert httpx.get(served.base_url + "/actions").status_code == 200
        text = httpx.get(served.base_url + "/metrics").text
        labels = {"method": "GET", "route": "/actions", "status": "200"}
        assert sample(text, "kep_http_requests_total", **labels) == 40


def senders_of(served) -> list[int]:
    def is_sender(pid: int) -> bool:
        command = command_line(pid)
        return command[2:5] == ["app.cli", "worker", "--beside"]

    return [pid for pid in descendants(served.process.pid) if is_sender(pid)]


def sign_up(base_url: str, name: str) -> None:
    email = name.lower().replace(" ", ".") + "@example.eu"
    answer = httpx.post(base_url + "/signup", json={"name": name, "email": email}, timeout=30)
    assert answer.status_code == 202, answer.text


def mail_settings(folder) -> dict[str, str]:
    return {"mail_dir": str(folder), "mail_poll_seconds": "0.2", "send_mail_in_process": "1"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_one_sender_beside_the_workers_delivers_the_mail_and_stops_with_them(tmp_path, workers):
    url, _ = migrated_sqlite(tmp_path)
    folder = tmp_path / "mail"
    with serving(url, tmp_path / "log", "--workers", workers, **mail_settings(folder)) as served:
        [sender] = senders_of(served)
        for n in range(4):  # a new connection each: with two workers, both take some
            sign_up(served.base_url, f"Sam Signup {n}")
        until(lambda: len(list(folder.glob("*.eml"))) == 4, 30)
        assert served.stop() in STOPPED
        assert ended(sender)  # stopped on the way out, not left to find the server gone
    # Each sender says where it delivers as it starts: the workers started none.
    assert sum("delivering mail to" in line for line in served.lines()) == 1


def test_the_sender_yields_the_cpu_to_the_workers_but_not_on_sqlite(database_url, engine, tmp_path):
    """On SQLite each of the sender's transactions holds the write lock that the
    requests' changes wait for: a sender kept waiting for the CPU would make them wait."""
    settings = mail_settings(tmp_path / "mail")
    with serving(database_url, tmp_path / "log", "--workers", "2", **settings) as served:
        [sender] = senders_of(served)
        lower = 0 if database_url.startswith("sqlite") else 10
        until(lambda: niceness(sender) == lower, 10)
        time.sleep(0.5)  # as it is once started
        assert niceness(sender) == lower


def test_ctrl_c_in_a_terminal_stops_the_sender_once_not_twice(tmp_path):
    """The terminal signals its foreground process group: the server and its workers,
    not the sender, which the server stops itself (not seen to end, nor started again)."""
    url, _ = migrated_sqlite(tmp_path)
    with serving(url, tmp_path / "log", "--workers", "2", send_mail_in_process="1") as served:
        [sender] = senders_of(served)
        group = os.getpgid(served.process.pid)
        assert os.getpgid(sender) != group
        for pid in [served.process.pid, *descendants(served.process.pid)]:
            if os.getpgid(pid) == group:
                os.kill(pid, signal.SIGINT)
        assert served.process.wait(timeout=30) in STOPPED
        assert ended(sender)
    assert not any("the mail sender ended" in line for line in served.lines())


def test_a_sender_that_ends_is_started_again(tmp_path):
    url, _ = migrated_sqlite(tmp_path)
    folder = tmp_path / "mail"
    with serving(url, tmp_path / "log", "--workers", "2", **mail_settings(folder)) as served:
        [first] = senders_of(served)
        os.kill(first, signal.SIGKILL)
        until(lambda: senders_of(served) not in ([], [first]), 15)
        sign_up(served.base_url, "Sam Signup")
        until(lambda: len(list(folder.glob("*.eml"))) == 1, 30)
    assert any("the mail sender ended (exit code -9)" in line for line in served.lines())


def test_without_the_sender_the_server_delivers_nothing(tmp_path):
    url, _ = migrated_sqlite(tmp_path)
    folder = tmp_path / "mail"
    settings = {"mail_dir": str(folder), "mail_poll_seconds": "0.2", "send_mail_in_process": "0"}
    with serving(url, tmp_path / "log", "--workers", "2", **settings) as served:
        assert senders_of(served) == []
        sign_up(served.base_url, "Sam Signup")
        time.sleep(1)  # five of the sender's rounds, had there been one
        assert not list(folder.glob("*.eml"))


def test_the_sender_ends_when_the_server_is_killed(tmp_path):
    url, _ = migrated_sqlite(tmp_path)
    with serving(url, tmp_path / "log", "--workers", "2", send_mail_in_process="1") as served:
        [sender] = senders_of(served)
        workers = [pid for pid in descendants(served.process.pid) if pid != sender]
        served.process.kill()
        try:
            until(lambda: ended(sender), 10)  # the sender does not outlive the server
        finally:
            for pid in workers:  # uvicorn's workers are not this test's subject
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def hold_write_lock(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def in_flight(base_url: str, answers: list[Any]) -> threading.Thread:
    def ask() -> None:
        try:
            answers.append(
                httpx.post(
                    base_url + "/signup",
                    json={"name": "Late Larry", "email": "larry@example.eu"},
                    timeout=60,
                )
            )
        except httpx.HTTPError as error:
            answers.append(error)

    thread = threading.Thread(target=ask)
    thread.start()
    return thread


def wait_until_waiting(base_url: str) -> None:
    deadline = time.monotonic() + 20
    while sample(httpx.get(base_url + "/metrics").text, "kep_db_slots_in_use") < 1:
        assert time.monotonic() < deadline, "the request never reached the database"
        time.sleep(0.1)


def test_stopping_finishes_requests_in_flight_and_refuses_new_ones(tmp_path):
    url, path = migrated_sqlite(tmp_path)
    with serving(url, tmp_path / "log", shutdown_timeout="20", db_lock_timeout="25") as served:
        lock = hold_write_lock(path)
        answers: list[Any] = []
        thread = in_flight(served.base_url, answers)
        wait_until_waiting(served.base_url)
        served.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while True:  # new connections are refused once the server stops listening
            try:
                httpx.get(served.base_url + "/health", timeout=2)
            except httpx.ConnectError:
                break
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # Connected just as the server stopped listening: a connection it has
                # read no request from is closed unanswered, another way to refuse it.
                break
            assert time.monotonic() < deadline, "the server kept taking new requests"
            time.sleep(0.1)
        lock.rollback()
        lock.close()
        thread.join(timeout=60)
        assert served.process.wait(timeout=30) in STOPPED
    [answer] = answers
    assert isinstance(answer, httpx.Response) and answer.status_code == 202


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stopping_takes_no_longer_than_the_set_time(tmp_path, workers):
    url, path = migrated_sqlite(tmp_path)
    settings = {"shutdown_timeout": "1", "db_lock_timeout": "60", "db_statement_timeout": "60"}
    with serving(url, tmp_path / "log", "--workers", workers, **settings) as served:
        lock = hold_write_lock(path)
        try:
            answers: list[Any] = []
            thread = in_flight(served.base_url, answers)
            wait_until_waiting(served.base_url)
            served.process.send_signal(signal.SIGTERM)
            # One second for the request in flight, then it is cut: the process ends long
            # before the lock it waits for would have timed out (a minute).
            assert served.process.wait(timeout=8) in STOPPED
            thread.join(timeout=30)
        finally:
            lock.rollback()
            lock.close()
    with sqlite3.connect(path) as connection:  # the cut request changed nothing
        taken = connection.execute("SELECT count(*) FROM users WHERE email = 'larry@example.eu'")
        assert taken.fetchone() == (0,)


def test_several_workers_answer_without_waiting_for_delayed_acknowledgements():
    """The workers' shared socket has Nagle's algorithm off, and the connections it
    accepts inherit that (measured in benchmarks/load.py: 45 ms per answer before)."""
    import socket

    import uvicorn

    from app.serving import listening_socket

    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=0)
    listener = listening_socket(config)
    listener.listen()
    with listener, socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_each_worker_listens_on_a_socket_of_its_own_and_connections_spread_over_them():
    """What a worker receives of the shared address is its own listening socket
    (SO_REUSEPORT), so the kernel spreads a burst of connections over the workers
    instead of the first one awake taking them all (seen: 10/0, 46/4, 50/0)."""
    import pickle
    import select
    import socket

    import uvicorn

    from app.serving import listening_socket

    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=0)
    placeholder = listening_socket(config)
    workers = [pickle.loads(pickle.dumps(placeholder)) for _ in range(2)]
    address = placeholder.getsockname()
    clients = [socket.create_connection(address) for _ in range(40)]
    try:
        accepted = []
        for worker in workers:
            assert worker.getsockname() == address
            assert worker.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            count = 0
            while select.select([worker], [], [], 0.2)[0]:
                connection, _ = worker.accept()
                connection.close()
                count += 1
            accepted.append(count)
        assert sum(accepted) == 40
        assert min(accepted) >= 5, accepted  # a hash of 40 ports: never all on one side
    finally:
        for sock in [*clients, *workers, placeholder]:
            sock.close()


def test_what_a_started_service_holds_is_left_out_of_full_garbage_collections(app):
    """A full pass of the cyclic collector walks every object it tracks; what the process
    holds once a service has started is left out of it."""
    import gc

    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > 50_000
        walked = {id(found) for found in gc.get_objects()}  # what a full pass walks
        assert id(create_app) not in walked


def test_several_workers_refuse_an_address_another_server_listens_on():
    """The workers' SO_REUSEPORT would let a second `kep serve --workers N` (an old
    release left running) share the address and take half of the connections; and a
    port held by another program stopped start-up with a traceback."""
    import pickle
    import socket

    import uvicorn

    from app.serving import listening_socket

    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=0)
    running = listening_socket(config)
    worker = pickle.loads(pickle.dumps(running))
    other = socket.create_server(("127.0.0.1", 0))
    try:
        for port in (running.getsockname()[1], other.getsockname()[1]):
            again = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=port)
            with pytest.raises(SystemExit) as refused:
                listening_socket(again)
            refusal = f"Cannot listen on 127.0.0.1:{port}: address already in use"
            assert str(refused.value) == refusal
    finally:
        for sock in (worker, running, other):
            sock.close()


def test_served_to_other_hosts_without_a_public_base_url_the_log_says_where_links_point(tmp_path):
    """Links in feeds, pages and invitation mails would send people to 127.0.0.1."""
    url, _ = migrated_sqlite(tmp_path)
    for log, settings in (("default", {}), ("set", {"public_base_url": "https://kep.example.eu"})):
        with serving(url, tmp_path / log, "--host", "0.0.0.0", **settings) as served:
            assert served.stop() in STOPPED
    [warning] = [
        line
        for line in (tmp_path / "default").read_text().splitlines()
        if "KEP_PUBLIC_BASE_URL" in line
    ]
    assert json.loads(warning)["level"] == "warning"
    assert "http://127.0.0.1:8000" in warning
    assert "KEP_PUBLIC_BASE_URL" not in (tmp_path / "set").read_text()
