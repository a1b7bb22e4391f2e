"""The sender writes each message with the email package's legacy API, for speed: what
any reader finds in it must be what the modern API writes for the same row."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest

from app.config import Settings
from app.models import OutboxMessage
from app.notifications.outbox import LINK_MARK
from app.notifications.sender import DirectoryTransport, SmtpTransport, mime, standard_mime
from tests.helpers.mail import SmtpServer

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
NOW = datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
UNSUBSCRIBE = "https://kep.example.eu/notifications/unsubscribe/12-event_reminder-" + "f" * 32
CALENDAR = (
    "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:-//KEP 2.0//EN\r\nVERSION:2.0\r\n"
    "BEGIN:VEVENT\r\nSUMMARY:Régions et villes: l’innovation au service de tous\\, "
    "avec une très l\r\n ongue suite de mots\r\nATTENDEE;CN=Zoë Ångström;ROLE=REQ-PARTICIPANT:"
    "mailto:zoe@example.eu\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def row(**values: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "id": 7,
        "kind": "registration_confirmed",
        "recipient": "zoe@example.eu",
        "recipient_name": "Zoe Angstrom",
        "subject": "Registration confirmed: A seminar",
        "body": "Dear Zoe,\n\nYour place is confirmed.\n",
        "message_id": "<20270301083000.1.2@kep.example.eu>",
        "secret": None,
        "calendar": None,
        "calendar_method": None,
    }
    return OutboxMessage(**{**fields, **values})


ROWS = {
    "ASCII, no calendar": row(),
    "not ASCII, long lines, a calendar, a secret link": row(
        message_id="<20270301083000.2.2@kep.example.eu>",
        recipient_name="Zoë Ångström-Wiśniewska, «Région Île-de-France»",
        subject="Registration confirmed: Régions et villes — l’innovation au service de "
        "tous, avec une très longue suite de mots qui ne tient pas sur une ligne",
        body="Chère Zoë,\n\n" + "Votre place est confirmée. " * 12 + f"\n\n{LINK_MARK}\n"
        "From the secretariat, with a line that begins as mbox quotes\n.\nA dot alone above.\n",
        secret="https://kep.example.eu/register?code=abc=def&next=%2Fevents%2F1",
        calendar=CALENDAR,
        calendar_method="REQUEST",
    ),
    "an ASCII subject longer than a line, a cancellation": row(
        message_id="<20270301083000.3.2@kep.example.eu>",
        subject="Registration cancelled: " + " ".join(["A long title of a peer-to-peer event"] * 4),
        calendar=CALENDAR.replace("REQUEST", "CANCEL"),
        calendar_method="CANCEL",
    ),
}


def read(mail: Message) -> EmailMessage:
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def seen(mail: EmailMessage) -> dict[str, object]:
    """What a reader finds in a message: its headers, decoded, and each part's type,
    parameters and text (its addressee and subject apart: see ``addressed``)."""
    headers = {
        name: str(mail[name])
        for name in (
            "From",
            "Date",
            "Message-ID",
            "Auto-Submitted",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
        )
    }
    parts = [
        (
            part.get_content_type(),
            part.get_param("method"),
            part.get_content_charset(),
            part.get_content().replace("\r\n", "\n"),
        )
        for part in mail.walk()
        if not part.is_multipart()
    ]
    return {"headers": headers, "type": mail.get_content_type(), "parts": parts}


def addressed(mail: EmailMessage) -> tuple[str, str, str]:
    (to,) = mail["To"].addresses
    return to.display_name, to.addr_spec, str(mail["Subject"])


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("unsubscribe", [None, UNSUBSCRIBE])
def test_a_message_reads_as_the_modern_api_writes_it(name, unsubscribe):
    message = ROWS[name]
    fast = read(mime(message, settings=SETTINGS, now=NOW, unsubscribe=unsubscribe))
    standard = read(standard_mime(message, settings=SETTINGS, now=NOW, unsubscribe=unsubscribe))
    assert seen(fast) == seen(standard)
    assert fast.defects == [] and all(part.defects == [] for part in fast.walk())
    # The name and subject exactly as the outbox has them. (The modern API is not the
    # reference here: it reads back "Île-de-France" in a long name as "Île-d e-France".)
    assert addressed(fast) == (message.recipient_name, message.recipient, message.subject)


def test_its_text_arrives_whole():
    message = ROWS["not ASCII, long lines, a calendar, a secret link"]
    mail = read(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "\nFrom the secretariat" in text and "\n.\nA dot alone above." in text
    assert message.secret in text and LINK_MARK not in text
    assert str(mail["List-Unsubscribe"]) == f"<{UNSUBSCRIBE}>"


def test_it_keeps_to_the_line_lengths_of_mail():
    for message in ROWS.values():
        written = mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE).as_bytes()
        lines = written.split(b"\r\n")
        assert max(map(len, lines)) <= 998
        assert all(len(line) <= 78 for line in lines if line.startswith(b"Subject:"))
        assert b"\n" not in written.replace(b"\r\n", b"")  # every line ends in CRLF


@pytest.mark.parametrize("field", ["subject", "recipient_name"])
def test_a_line_break_in_a_header_is_refused_as_the_modern_api_refuses_it(field):
    message = row(**{field: "Two\nlines"})
    with pytest.raises(ValueError):
        mime(message, settings=SETTINGS, now=NOW, unsubscribe=None).as_bytes()
    with pytest.raises(ValueError):
        standard_mime(message, settings=SETTINGS, now=NOW, unsubscribe=None).as_bytes()


def test_an_address_that_is_not_ascii_is_written_by_the_modern_api(tmp_path):
    message = row(recipient="zoë@exämple.eu")
    mail = mime(message, settings=SETTINGS, now=NOW, unsubscribe=None)
    assert isinstance(mail, EmailMessage)
    smtp = SmtpServer(utf8=True)
    smtp.start()
    try:
        with SmtpTransport(smtp.url, timeout=10).connection() as send:
            send(mail)
        (received,) = smtp.received
    finally:
        smtp.stop()
    assert received.recipients == ["zoë@exämple.eu"]
    assert addressed(received.mail) == (message.recipient_name, message.recipient, message.subject)
    assert seen(received.mail) == seen(
        read(mime(row(), settings=SETTINGS, now=NOW, unsubscribe=None))
    )
    with DirectoryTransport(tmp_path).connection() as write:
        write(mime(row(), settings=SETTINGS, now=NOW, unsubscribe=None))
    (written,) = tmp_path.glob("*.eml")
    assert seen(message_from_bytes(written.read_bytes(), policy=policy.default)) == seen(
        read(standard_mime(row(), settings=SETTINGS, now=NOW, unsubscribe=None))
    )


def test_a_mail_server_receives_what_the_file_holds():
    """smtplib writes the message itself, with the message's own policy: a line of text
    that begins with "From " must reach the server as it is."""
    smtp = SmtpServer()
    smtp.start()
    try:
        with SmtpTransport(smtp.url, timeout=10).connection() as send:
            for message in ROWS.values():
                send(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
        for message in ROWS.values():
            (received,) = [m for m in smtp.received if m.mail["Message-ID"] == message.message_id]
            written = read(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
            assert received.recipients == [message.recipient]
            assert seen(received.mail) == seen(written)
            assert addressed(received.mail) == addressed(written)
    finally:
        smtp.stop()
