"""Who sees what: every read endpoint, every kind of caller, in one table.

What is public: the plan's catalogue, seminars, proposals with their proposers (a CoR
member's proposal is a public political act: name and member state; secretariat staff
act for their institution), tallies once voting has closed, published and cancelled
events with their hosts and agendas. What is not: who registered (the event's host and
the secretariat only), e-mail addresses (the account's owner, admins, and for
registrants the host and the secretariat), accounts and tokens (their owner and admins),
the audit trail (secretariat and admins), the monitoring reports (secretariat). A
participant's name is never public.
"""

from dataclasses import dataclass

import pytest

from app.notifications.preferences import unsubscribe_code
from tests.helpers.answers import detail_of
from tests.helpers.events import create_event, published_event
from tests.helpers.seminars import IN_PROPOSALS, IN_VOTING, open_seminar, propose

VIEWERS = ("anonymous", "participant", "member", "host", "secretariat", "admin")
SIGNED_IN = VIEWERS[1:]


def only(allowed: tuple[str, ...], otherwise: int = 403) -> dict[str, int]:
    """200 for ``allowed``, 401 for anonymous callers, ``otherwise`` for the rest."""
    return {
        viewer: 200 if viewer in allowed else 401 if viewer == "anonymous" else otherwise
        for viewer in VIEWERS
    }


PUBLIC = dict.fromkeys(VIEWERS, 200)
ANY_USER = only(SIGNED_IN)


@dataclass(frozen=True)
class Read:
    """One read endpoint: who gets which status, and who sees the participant's name
    and e-mail address in the answer."""

    path: str
    statuses: dict[str, int]
    private_to: tuple[str, ...] = ()


# {ids} are filled in from the world below. Every GET of the API is in this table.
TABLE = {
    "the service": Read("/", PUBLIC),
    "health": Read("/health", PUBLIC),
    "me": Read("/me", ANY_USER, private_to=("participant",)),
    "accounts": Read("/users?role=participant", only(("admin",)), private_to=("admin",)),
    # Someone else's account is unknown to the caller, exactly as an id without one.
    "an account": Read(
        "/users/{participant}",
        only(("participant", "admin"), otherwise=404),
        ("participant", "admin"),
    ),
    "its tokens": Read(
        "/users/{participant}/tokens", only(("participant", "admin"), otherwise=404)
    ),
    # Whoever holds an invitation link may read whose it is and until when.
    "an invitation": Read("/invitations/{invitation}", PUBLIC),
    "priority areas": Read("/priority-areas", PUBLIC),
    "a priority area": Read("/priority-areas/1", PUBLIC),
    "actions": Read("/actions", PUBLIC),
    "an action": Read("/actions/1", PUBLIC),
    "seminars": Read("/seminars", PUBLIC),
    "a seminar": Read("/seminars/{voting}", PUBLIC),
    "proposals": Read("/seminars/{voting}/proposals", PUBLIC),
    "a proposal": Read("/proposals/{proposal}", PUBLIC),
    # Signing in helps only the secretariat: everyone else is told when it opens.
    "a tally while voting": Read(
        "/seminars/{voting}/tally", only(("secretariat",)) | {"anonymous": 403}
    ),
    "a tally after voting": Read("/seminars/{voted}/tally", PUBLIC),
    "events": Read("/events", PUBLIC),
    "a published event": Read("/events/{published}", PUBLIC),
    "an unpublished event": Read(
        "/events/{submitted}", only(("host", "secretariat"), otherwise=404) | {"anonymous": 404}
    ),
    "a published agenda": Read("/events/{published}/agenda", PUBLIC),
    "an unpublished agenda": Read(
        "/events/{submitted}/agenda",
        only(("host", "secretariat"), otherwise=404) | {"anonymous": 404},
    ),
    "who registered": Read(
        "/events/{published}/registrations",
        only(("host", "secretariat")),
        private_to=("host", "secretariat"),
    ),
    "my registrations": Read("/me/registrations", ANY_USER, private_to=("participant",)),
    # The public feeds hold what the public events and seminars show; a personal feed is
    # for whoever holds its secret address (its own tests); its list is its owner's.
    "the public feeds": Read("/feeds", PUBLIC),
    "the calendar": Read("/calendar.ics", PUBLIC),
    "an event's calendar file": Read("/events/{published}.ics", PUBLIC),
    "the seminars' deadlines": Read("/seminars.ics", PUBLIC),
    "a personal feed": Read("/feeds/{feed}.ics", PUBLIC, private_to=()),
    "my personal feeds": Read("/me/feeds", ANY_USER),
    "my mail preferences": Read("/me/notifications", ANY_USER),
    # An unsubscribe link works for whoever holds it, as the mail it came in; it shows
    # the kind of mail, not whose.
    "an unsubscribe link": Read("/notifications/unsubscribe/{unsubscribe}", PUBLIC),
    # Outgoing mail names its recipients: for operators only.
    "the outbox": Read("/outbox", only(("admin",)), private_to=("admin",)),
    # Reports hold figures, hosts and proposers' member states, never a participant.
    "coverage": Read("/reports/coverage?year=2027", only(("secretariat",))),
    "the stocktaking export": Read("/reports/events", only(("secretariat",))),
    "the seminars' history": Read("/reports/seminars", only(("secretariat",))),
    "the audit trail": Read(
        "/audit?entity_type=user&entity_id={participant}",
        only(("secretariat", "admin")),
        # An account's details are for admins (and its owner): the secretariat reads
        # that the account was made, not whose it is.
        private_to=("admin",),
    ),
}


@pytest.fixture
def world(client, clock, make_account, jrc, admin, db):
    """A host member with a proposal and events, a participant registered for the
    published one, a seminar in its voting phase and one whose voting has closed."""
    host = make_account("member", "Hanna Host", member_state="AT", region="Tirol")
    member = make_account("member", "Olaf Other", member_state="DK", region="Sjælland")
    participant = make_account("participant", "Pia Private")
    voting = open_seminar(client, jrc)
    voted = open_seminar(
        client,
        jrc,
        number=2,
        proposals_open_at="2026-11-26T09:00:00Z",
        proposals_close_at="2026-12-01T09:00:00Z",
        voting_close_at="2026-12-05T09:00:00Z",
    )
    clock.set(IN_PROPOSALS)
    proposal = propose(client, host, voting["id"])
    published = create_event(client, host.headers)
    client.post(f"/events/{published['id']}/publish", headers=jrc.headers)
    submitted = create_event(client, host.headers, title="Not yet published")
    published_event(client, jrc.headers, title="The secretariat's own event")
    registered = client.post(
        f"/events/{published['id']}/registrations", headers=participant.headers
    )
    assert registered.status_code == 201
    clock.set(IN_VOTING)
    invited = client.post(
        "/users",
        headers=admin.headers,
        json={"name": "Ivo Invited", "email": "ivo@example.eu", "role": "participant"},
    )
    assert invited.status_code == 201, invited.text
    feed = client.post("/me/feeds", headers=participant.headers, json={"label": "Phone"})
    assert feed.status_code == 201, feed.text
    return {
        "accounts": {
            "anonymous": None,
            "participant": participant,
            "member": member,
            "host": host,
            "secretariat": jrc,
            "admin": admin,
        },
        "ids": {
            "participant": participant.id,
            "voting": voting["id"],
            "voted": voted["id"],
            "proposal": proposal["id"],
            "published": published["id"],
            "submitted": submitted["id"],
            "invitation": invited.json()["invitation"]["url"].rsplit("/", 1)[1],
            "feed": feed.json()["url"].rsplit("/", 1)[1].removesuffix(".ics"),
            "unsubscribe": unsubscribe_code(db, participant.id, "event_reminder"),
        },
    }


def test_who_sees_what_on_every_read_endpoint(client, world):
    participant = world["accounts"]["participant"].user
    wrong = []
    for name, read in TABLE.items():
        path = read.path.format(**world["ids"])
        for viewer in VIEWERS:
            account = world["accounts"][viewer]
            response = client.get(path, headers=account.headers if account else {})
            expected = read.statuses[viewer]
            if response.status_code != expected:
                wrong.append(f"{name}, {viewer}: {response.status_code}, expected {expected}")
                continue
            if response.status_code == 403 and "needs" not in detail_of(response):
                wrong.append(f"{name}, {viewer}: the 403 does not say what is needed")
            if response.status_code != 200:
                continue
            private = viewer in read.private_to
            for secret in (participant.name, participant.email):
                if (secret in response.text) != private:
                    shown = "shows" if not private else "does not show"
                    wrong.append(f"{name}, {viewer}: {shown} {secret!r}")
    assert wrong == []


def test_the_table_holds_every_read_endpoint(client):
    spec = client.get("/openapi.json").json()
    reads = {path for path, operations in spec["paths"].items() if "get" in operations}
    tabled = {read.path.split("?")[0] for read in TABLE.values()}
    with_ids = {
        path.replace("{user_id}", "{participant}")
        .replace("{seminar_id}", "{voting}")
        .replace("{proposal_id}", "{proposal}")
        .replace("{number}", "1")
        .replace("{event_id}", "{published}")
        .replace("{secret}", "{invitation}")
        .replace("{token}", "{feed}")
        .replace("{code}", "{unsubscribe}")
        for path in reads
    }
    assert with_ids <= tabled


def test_a_proposal_names_its_proposer_to_everyone(client, world):
    [proposal] = client.get(f"/seminars/{world['ids']['voting']}/proposals").json()["items"]
    assert proposal["proposer"] == {
        "id": world["accounts"]["host"].id,
        "name": "Hanna Host",
        "institution": None,
        "member_state": "AT",
    }


def test_an_unpublished_event_is_listed_for_its_host_and_the_secretariat_only(client, world):
    submitted = world["ids"]["submitted"]
    for viewer in VIEWERS:
        account = world["accounts"][viewer]
        listed = client.get("/events", headers=account.headers if account else {}).json()
        seen = submitted in {event["id"] for event in listed["items"]}
        assert seen == (viewer in ("host", "secretariat")), viewer
