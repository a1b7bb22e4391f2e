"""Sign-up and token recovery mail a link to any address typed in: a few an hour per
client address, so that nobody makes the service mail thousands of strangers (and lose
the standing of its mail domain) from one machine. The count is kept in the database:
the workers of a server, and requests arriving together, share it."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.accounts.link_requests import FORGET_AT_ONCE, client_key
from app.models import LinkRequest, OutboxMessage

LIMIT = 4


@pytest.fixture
def limited(app):
    app.state.settings = app.state.settings.model_copy(update={"link_requests_per_hour": LIMIT})
    return app


# Race tests share one database for the session: theirs come through the local proxy
# the server trusts, each test naming a client of its own.
RACER = "203.0.113.77"


def ask(client, number: int, path: str = "/signup", forwarded_for: str | None = None):
    email = f"person.{number}@example.eu"
    body = {"name": f"Person {number}", "email": email} if path == "/signup" else {"email": email}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    return client.post(path, json=body, headers=headers)


def links_written(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_client_asking_for_too_many_links_is_told_when_to_try_again(limited, clock, db):
    clock.set(clock().replace(minute=40, second=30))
    with TestClient(limited, client=("198.51.100.7", 4000)) as client:
        answers = [ask(client, n, "/signup" if n % 2 else "/token-recovery") for n in range(LIMIT)]
        assert [answer.status_code for answer in answers] == [202] * LIMIT
        written = links_written(db)
        refused = ask(client, 99)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == str(19 * 60 + 30)  # the hour's end
        detail = refused.json()["detail"]
        assert f"{LIMIT} sign-ups and token recoveries an hour" in detail
        assert "try again in 20 minutes" in detail  # 19.5, rounded up
        assert ask(client, 100, "/token-recovery").status_code == 429
    assert links_written(db) == written  # the refused wrote nothing
    assert db.scalar(select(LinkRequest.count)) == LIMIT  # nor counted themselves


@pytest.mark.parametrize(
    ("minute", "second", "microsecond", "retry_after", "wait"),
    [
        (59, 59, 500_000, "1", "try again in 1 second"),  # the hour's last second
        (59, 30, 0, "30", "try again in 30 seconds"),
        (59, 0, 0, "60", "try again in 1 minute"),
        (0, 0, 0, "3600", "try again in 60 minutes"),  # the hour has just begun
    ],
)
def test_the_wait_is_said_as_the_retry_after_counts_it(
    limited, clock, minute, second, microsecond, retry_after, wait
):
    clock.set(clock().replace(minute=minute, second=second, microsecond=microsecond))
    with TestClient(limited, client=("198.51.100.7", 4000)) as client:
        for number in range(LIMIT):
            assert ask(client, number).status_code == 202
        refused = ask(client, 99)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == retry_after
    detail = refused.json()["detail"]
    assert detail.endswith(wait), detail
    # Both routes take an e-mail address: the one counted is the client's.
    assert detail.startswith("This IP address has asked"), detail


def test_each_client_address_has_its_own_count_and_a_new_hour_a_new_one(limited, clock, db):
    with TestClient(limited, client=("198.51.100.7", 4000)) as first:
        for number in range(LIMIT):
            assert ask(first, number).status_code == 202
        assert ask(first, 10).status_code == 429
        with TestClient(limited, client=("203.0.113.20", 4000)) as second:
            assert ask(second, 11).status_code == 202
        clock.advance(hours=1)
        assert ask(first, 12).status_code == 202
    db.expire_all()
    # Hours that are over are forgotten as new ones are counted.
    assert db.scalars(select(LinkRequest.count)).all() == [1]


def test_after_a_flood_the_next_hours_requests_share_the_forgetting(limited, clock, db):
    last_hour = clock().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    flood = FORGET_AT_ONCE + FORGET_AT_ONCE // 2
    db.add_all(
        LinkRequest(client=f"10.0.{n // 250}.{n % 250}", hour=last_hour, count=1)
        for n in range(flood)
    )
    db.flush()
    left = []
    with TestClient(limited, client=("198.51.100.7", 4000)) as client:
        for number in range(3):
            assert ask(client, number).status_code == 202
            db.expire_all()
            left.append(db.scalar(select(func.count()).where(LinkRequest.hour == last_hour)))
    assert left == [flood - FORGET_AT_ONCE, 0, 0]


def test_bad_input_does_not_count(limited, db):
    with TestClient(limited, client=("198.51.100.7", 4000)) as client:
        for _ in range(LIMIT + 2):
            assert client.post("/signup", json={"name": "No Address"}).status_code == 422
        assert ask(client, 1).status_code == 202


def test_an_ipv6_network_counts_as_one_client():
    """One machine holds a whole /64: counting each address would not limit it."""
    assert client_key("2001:db8:1:2::5") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::5") != client_key("2001:db8:1:2::5")
    assert client_key("::ffff:198.51.100.7") == client_key("198.51.100.7") == "198.51.100.7"
    assert client_key(None) == "unknown"
    assert client_key("testclient") == "testclient"  # a name, not an address: as it is


def test_an_ipv6_address_that_carries_an_ipv4_one_counts_as_that_ipv4_address():
    """A 6to4 host holds a whole /48 of 2002::/16 for its one IPv4 address, and a Teredo
    client's address names a relay server and flags of its choosing: by /64, one
    machine would be thousands of clients."""
    ipv4 = "198.51.100.7"
    for sixtofour in ("2002:c633:6407::1", "2002:c633:6407:1::5", "2002:c633:6407:ffff::9"):
        assert client_key(sixtofour) == ipv4
    # Teredo: 2001:0:<server>:<flags>:<port>:<client>, port and client inverted.
    for teredo in ("2001:0:c000:201:0:f227:39cc:9bf8", "2001:0:cb00:7101:8000:1:39cc:9bf8"):
        assert client_key(teredo) == ipv4


def test_the_limit_holds_for_requests_that_arrive_together(race_client, race_app, race_database):
    """Real requests on their own connections: each would read the count below the limit
    unless the count's row makes them take turns."""
    race_app.state.settings = race_app.state.settings.model_copy(
        update={"link_requests_per_hour": LIMIT}
    )
    _base, client = race_client
    requests = 3 * LIMIT
    start = threading.Barrier(requests)

    def attempt(number: int) -> int:
        start.wait()
        path = "/signup" if number % 2 else "/token-recovery"
        return ask(client, number, path, forwarded_for=RACER).status_code

    with ThreadPoolExecutor(max_workers=requests) as pool:
        answers = list(pool.map(attempt, range(requests)))
    assert sorted(answers) == [202] * LIMIT + [429] * (requests - LIMIT), answers
    with race_app.state.sessionmaker() as session:
        assert session.scalar(select(LinkRequest.count).where(LinkRequest.client == RACER)) == LIMIT


def test_clients_arriving_together_as_an_hour_turns_all_get_their_links(
    race_client, race_app, clock
):
    """Each request deletes the hours that are over: requests of many clients at once
    must neither wait for each other's deletions nor deadlock on them. Each comes through
    the proxy the server trusts (here, the local address), which names its client."""
    race_app.state.settings = race_app.state.settings.model_copy(
        update={"link_requests_per_hour": 1}
    )
    last_hour = clock().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with race_app.state.sessionmaker() as session:
        session.add_all(
            LinkRequest(client=f"192.0.2.{n}", hour=last_hour, count=3) for n in range(60)
        )
        session.commit()
    _base, client = race_client
    requests = 16
    start = threading.Barrier(requests)

    def attempt(number: int) -> int:
        start.wait()
        forwarded = {"X-Forwarded-For": f"198.51.100.{number}"}
        body = {"email": f"person.{number}@example.eu"}
        return client.post("/token-recovery", json=body, headers=forwarded).status_code

    with ThreadPoolExecutor(max_workers=requests) as pool:
        answers = list(pool.map(attempt, range(requests)))
    assert answers == [202] * requests
    with race_app.state.sessionmaker() as session:
        counted = dict(
            session.execute(
                select(LinkRequest.client, LinkRequest.count).where(
                    LinkRequest.client.like("198.51.100.%")
                )
            ).all()
        )
        over = session.scalar(select(func.count()).where(LinkRequest.hour <= last_hour))
    assert counted == {f"198.51.100.{number}": 1 for number in range(requests)}
    assert over == 0
