"""The foot of every optional mail links to a page where its reader chooses which
optional mails they receive, in a browser and without logging in: the link is theirs
alone, signed with the service's key as the unsubscribe links are."""

import re

import pytest
from sqlalchemy import select

from app.models import OutboxMessage
from app.notifications import preferences
from app.notifications.kinds import KINDS, OPTIONAL_KINDS
from tests.helpers.database import audit_count
from tests.helpers.events import create_event
from tests.helpers.pages import BROWSER, open_page

FORM = {"Content-Type": "application/x-www-form-urlencoded", **BROWSER}


def choices_path(db, settings, account) -> str:
    """The link at the foot of the mail a member's own submitted event sends them."""
    db.expire_all()
    [body] = db.scalars(
        select(OutboxMessage.body).where(
            OutboxMessage.user_id == account.id, OutboxMessage.kind == "own_event"
        )
    ).all()
    [link] = re.findall(r"^Choose what you receive: (\S+)$", body, flags=re.MULTILINE)
    assert link.startswith(f"{settings.base_url}/notifications/choices/")
    return link.removeprefix(settings.base_url)


def mail_choices(client, account) -> dict[str, bool]:
    return client.get("/me/notifications", headers=account.headers).json()


def checkboxes(page) -> dict[str, bool]:
    """The page's boxes, by kind: checked or not."""
    return {
        attrs["value"] or "": "checked" in attrs
        for tag, attrs in page.tags
        if tag == "input" and attrs.get("type") == "checkbox" and attrs.get("name") == "receive"
    }


def send_choices(client, path: str, kinds: list[str], *, sent: bool = True):
    fields = [("receive", kind) for kind in kinds] + ([("form", "choices")] if sent else [])
    body = "&".join(f"{name}={value}" for name, value in fields)
    return client.post(path, headers=FORM, content=body.encode())


def test_the_line_at_the_foot_of_a_mail_opens_the_readers_choices_and_changes_them(
    client, member, db, settings
):
    create_event(client, member.headers, kind="peer_to_peer")
    path = choices_path(db, settings, member)

    page = open_page(client, path)
    assert "Your mail choices" in page.text
    assert checkboxes(page) == dict.fromkeys(OPTIONAL_KINDS, True)
    for kind in OPTIONAL_KINDS:
        assert KINDS[kind].description in page.text
    [form] = [attrs for tag, attrs in page.tags if tag == "form"]
    assert (form["method"], form.get("action", "")) == ("post", "")
    assert "Mails about your own registrations and your account always go out" in page.text
    entries = audit_count(db)
    assert mail_choices(client, member)["call_for_topics"] is True  # opening changes nothing

    kept = [kind for kind in OPTIONAL_KINDS if kind not in ("call_for_topics", "voting_opens")]
    saved = send_choices(client, path, kept)
    assert saved.status_code == 200, saved.text
    assert saved.headers["content-type"] == "text/html; charset=utf-8"
    assert "Your choices are saved" in saved.text
    assert mail_choices(client, member) == {
        **dict.fromkeys(OPTIONAL_KINDS, True),
        "call_for_topics": False,
        "voting_opens": False,
        "always_sent": mail_choices(client, member)["always_sent"],
    }
    assert audit_count(db) == entries + 1  # the person's own change, in the trail
    assert checkboxes(open_page(client, path)) == {kind: kind in kept for kind in OPTIONAL_KINDS}

    back = send_choices(client, path, list(OPTIONAL_KINDS))
    assert back.status_code == 200
    assert all(mail_choices(client, member)[kind] for kind in OPTIONAL_KINDS)
    none = send_choices(client, path, [])  # every box cleared: no optional mail at all
    assert none.status_code == 200
    assert not any(mail_choices(client, member)[kind] for kind in OPTIONAL_KINDS)


def test_a_choices_link_is_for_its_owner_alone(client, member, participant, db, settings):
    code = preferences.choices_code(db, member.id)
    user, signature = code.split("-")
    forged = f"{participant.id}-{signature}"
    unsubscribe = preferences.unsubscribe_code(db, member.id, "call_for_topics")
    before = mail_choices(client, participant), mail_choices(client, member)
    for wrong in (
        forged,
        f"{user}-{signature[:-4]}{'0000' if not signature.endswith('0000') else '1111'}",
        unsubscribe,  # an unsubscribe link's code opens no choices
        f"{user}-choices-{signature}",
        "²-abc",
        "9" * 100 + "-abc",
        f"{user}-é{signature}",
    ):
        page = open_page(client, f"/notifications/choices/{wrong}", status=404)
        assert "This link is not valid" in page.text
        assert send_choices(client, f"/notifications/choices/{wrong}", []).status_code == 404
    assert (mail_choices(client, participant), mail_choices(client, member)) == before
    # And the other way round: a choices code unsubscribes from nothing.
    assert client.post(f"/notifications/unsubscribe/{code}").status_code == 404


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("receive=call_for_topics&receive=shopping&form=choices", "shopping"),
        ("receive=registration_confirmed&form=choices", "registration_confirmed"),
        ("receive=call_for_topics", "sent whole"),  # not the page's form: changes nothing
        ("", "sent whole"),
    ],
)
def test_choices_the_page_does_not_offer_change_nothing(client, member, db, fields, says):
    path = f"/notifications/choices/{preferences.choices_code(db, member.id)}"
    before = mail_choices(client, member)
    refused = client.post(path, headers=FORM, content=fields.encode())
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "text/html; charset=utf-8"
    assert says in refused.text
    assert mail_choices(client, member) == before


def test_the_choices_page_is_private_and_kept_by_nobody(client, member, db):
    """The address holds a secret: the page is not kept by shared caches, and sends no
    Referer to the pages it links to."""
    path = f"/notifications/choices/{preferences.choices_code(db, member.id)}"
    answer = client.get(path, headers=BROWSER)
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_after_unsubscribing_the_page_links_to_the_readers_choices(client, member, db, settings):
    code = preferences.unsubscribe_code(db, member.id, "call_for_topics")
    path = f"/notifications/unsubscribe/{code}"
    stopped = client.post(path, headers=BROWSER)
    assert "You no longer receive these mails" in stopped.text
    page = open_page(client, path)
    code = preferences.choices_code(db, member.id)
    choices = preferences.choices_url(settings.base_url, code)
    assert choices in page.links
    assert "PATCH" not in page.text  # no API call to make by hand
