"""The sender writes each message with the email package's legacy API, for speed: what
any reader finds in it must be what the modern API writes for the same row, and what
the outbox holds."""

import re
import sys
import unicodedata
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import compat32
from email.utils import parseaddr

import pytest

from app.config import Settings
from app.models import OutboxMessage
from app.notifications.mail import (
    MESSAGE_REFUSED,
    DirectoryTransport,
    SmtpTransport,
    mime,
    standard_mime,
    written,
)
from app.notifications.outbox import LINK_MARK
from app.notifications.wording import breaks_line, one_line
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
ASCII_CALENDAR = (
    "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nPRODID:-//KEP 2.0//EN\r\nVERSION:2.0\r\n"
    "BEGIN:VEVENT\r\nSUMMARY:Regions and cities\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def row(number: int, **values: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "id": number,
        "kind": "registration_confirmed",
        "recipient": "zoe@example.eu",
        "recipient_name": "Zoe Angstrom",
        "subject": "Registration confirmed: A seminar",
        "body": "Dear Zoe,\n\nYour place is confirmed.\n",
        "message_id": f"<20270301083000.{number}.2@kep.example.eu>",
        "secret": None,
        "calendar": None,
        "calendar_method": None,
    }
    return OutboxMessage(**{**fields, **values})


ROWS = {
    "ASCII, no calendar": row(1),
    "not ASCII, long lines, a calendar, a secret link": row(
        2,
        recipient_name="Zoë Ångström-Wiśniewska, «Région Île-de-France»",
        subject="Registration confirmed: Régions et villes — l’innovation au service de "
        "tous, avec une très longue suite de mots qui ne tient pas sur une ligne",
        body="Chère Zoë,\n\n" + "Votre place est confirmée. " * 12 + f"\n\n{LINK_MARK}\n"
        "From the secretariat, with a line that begins as mbox quotes\n.\nA dot alone above.\n",
        secret="https://kep.example.eu/register?code=abc=def&next=%2Fevents%2F1",
        calendar=CALENDAR,
        calendar_method="REQUEST",
    ),
    "an ASCII subject longer than a line, an ASCII cancellation": row(
        3,
        subject="Registration cancelled: " + " ".join(["A long title of a peer-to-peer event"] * 4),
        calendar=ASCII_CALENDAR,
        calendar_method="CANCEL",
    ),
    "a name of 200 characters, none of them ASCII": row(4, recipient_name="🙂" * 200),
    "a name quoted, with a comma, a backslash and angle brackets": row(
        5, recipient_name='Ann "the <chair>" O\\Neill, DG RTD'
    ),
    "an ASCII name of 200 characters": row(9, recipient_name=" ".join(["Maria-Anna"] * 18)[:200]),
    "an ASCII name folded inside its quotes, naming another address": row(
        12, recipient_name=" ".join(["Eve"] * 20) + ", <eve@example.org>"
    ),
    # A title or name a person typed to look like encoded words (RFC 2047): read as typed.
    "ASCII text that looks like encoded words": row(
        10,
        recipient_name="=?utf-8?q?The_Secretariat?=",
        subject="To publish: Peer visit =?utf-8?b?QWN0aW9uIHJlcXVpcmVk?=",
    ),
}


def read(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
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


def addressed(mail: Message) -> tuple[str, str, str]:
    """The addressee's name and address and the subject, each as the raw header decodes
    (RFC 2047). The modern API's parser is no reference here: it reads two encoded words
    in a row in a display name with a space between them ("Île-d e-France")."""
    raw = {name: re.sub(r"\r?\n(?=[ \t])", "", value) for name, value in mail.raw_items()}
    name, address = parseaddr(raw["To"])
    return (
        str(make_header(decode_header(name))),
        address,
        str(make_header(decode_header(raw["Subject"]))),
    )


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("unsubscribe", [None, UNSUBSCRIBE])
def test_a_message_reads_as_the_modern_api_writes_it(name, unsubscribe):
    message = ROWS[name]
    fast = read(written(mime(message, settings=SETTINGS, now=NOW, unsubscribe=unsubscribe)))
    standard = standard_mime(message, settings=SETTINGS, now=NOW, unsubscribe=unsubscribe)
    assert seen(fast) == seen(read(written(standard)))
    assert fast.defects == [] and all(part.defects == [] for part in fast.walk())
    assert addressed(fast) == (message.recipient_name, message.recipient, message.subject)


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("unsubscribe", [None, UNSUBSCRIBE])
def test_headers_are_written_as_the_legacy_api_folds_them(name, unsubscribe):
    """The sender writes the headers ``mime`` folded as they are, where the legacy API
    would fold each again (a third of the writing): byte for byte what it writes."""
    mail = mime(ROWS[name], settings=SETTINGS, now=NOW, unsubscribe=unsubscribe)
    data = written(mail)  # the boundary chosen here, and kept by the message
    assert data == mail.as_bytes(policy=compat32.clone(linesep="\r\n", max_line_length=0))


def test_its_text_arrives_whole():
    message = ROWS["not ASCII, long lines, a calendar, a secret link"]
    mail = read(written(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE)))
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "\nFrom the secretariat" in text and "\n.\nA dot alone above." in text
    assert message.secret in text and LINK_MARK not in text
    assert str(mail["List-Unsubscribe"]) == f"<{UNSUBSCRIBE}>"


def test_a_calendar_keeps_its_line_ends():
    for message in ROWS.values():
        mail = read(written(mime(message, settings=SETTINGS, now=NOW, unsubscribe=None)))
        for part in mail.walk():
            if part.get_content_type() == "text/calendar":
                assert part.get_content() == message.calendar


def test_it_keeps_to_the_line_lengths_of_mail():
    for message in ROWS.values():
        data = written(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
        head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends in CRLF
        assert max(map(len, data.split(b"\r\n"))) <= 998
        # A link, an id, a boundary: single words, which may pass 78 (a SHOULD of RFC 5322)
        words = (b"List-Unsubscribe:", b"Message-ID:", b"Content-Type: multipart/")
        assert all(len(line) <= 78 for line in head if not line.startswith(words)), head
        # RFC 2047 has 75, the library's 76 (as with the modern API)
        assert all(len(word) <= 76 for word in re.findall(rb"=\?[^?]+\?[qb]\?[^?]*\?=", data))


@pytest.mark.parametrize("field", ["subject", "recipient_name"])
@pytest.mark.parametrize("character", ["\n", "\r", "\x0b", "\x1c", "\u2028"])
@pytest.mark.parametrize("recipient", ["zoe@example.eu", "zoë@exämple.eu"])
def test_a_line_break_in_a_header_is_refused(field, character, recipient):
    message = row(6, recipient=recipient, **{field: f"Two{character}lines"})
    with pytest.raises(ValueError):
        written(mime(message, settings=SETTINGS, now=NOW, unsubscribe=None))


def test_a_display_name_that_is_not_ascii_in_the_from_address():
    settings = Settings(
        mail_from="Plateforme KEP – Comité des régions <kep@example.eu>", _env_file=None
    )  # type: ignore[call-arg]
    mail = read(written(mime(row(7), settings=settings, now=NOW, unsubscribe=None)))
    assert str(mail["From"]) == settings.mail_from


def test_a_mail_server_receives_what_the_file_holds(tmp_path):
    """smtplib writes the message itself unless told not to, with mbox's quoting of a
    line of text that begins with "From ": it must reach the server as it is."""
    smtp = SmtpServer()
    smtp.start()
    try:
        with SmtpTransport(smtp.url, timeout=10).connection() as send:
            for message in ROWS.values():
                send(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
    finally:
        smtp.stop()
    with DirectoryTransport(tmp_path).connection() as write:
        for message in ROWS.values():
            write(mime(message, settings=SETTINGS, now=NOW, unsubscribe=UNSUBSCRIBE))
    for message in ROWS.values():
        (received,) = [m for m in smtp.received if m.mail["Message-ID"] == message.message_id]
        (file,) = tmp_path.glob(f"{message.message_id[1:].split('@')[0]}.eml")
        kept = read(file.read_bytes())
        assert received.recipients == [message.recipient]
        assert seen(received.mail) == seen(kept)
        assert addressed(received.mail) == addressed(kept)


def test_an_address_that_is_not_ascii_goes_in_utf8(tmp_path):
    message = row(8, recipient="zoë@exämple.eu", recipient_name="Zoë")
    mail = mime(message, settings=SETTINGS, now=NOW, unsubscribe=None)
    assert isinstance(mail, EmailMessage)  # the modern API, which writes SMTPUTF8
    smtp = SmtpServer(utf8=True)
    smtp.start()
    try:
        with SmtpTransport(smtp.url, timeout=10).connection() as send:
            send(mail)
        (received,) = smtp.received
    finally:
        smtp.stop()
    with DirectoryTransport(tmp_path).connection() as write:
        write(mail)
    (file,) = tmp_path.glob("*.eml")
    kept = message_from_string(file.read_bytes().decode(), policy=policy.default)
    assert received.recipients == ["zoë@exämple.eu"]
    for reading in (received.mail, kept):
        (to,) = reading["To"].addresses
        assert (to.display_name, to.addr_spec) == ("Zoë", "zoë@exämple.eu")
        assert seen(reading) == seen(
            read(written(mime(row(8), settings=SETTINGS, now=NOW, unsubscribe=None)))
        )  # type: ignore[arg-type]


def test_a_server_without_smtputf8_refuses_that_message_alone():
    """A server that takes only ASCII addresses refuses the one message, and takes the
    next on the same connection."""
    smtp = SmtpServer()
    smtp.start()
    try:
        with SmtpTransport(smtp.url, timeout=10).connection() as send:
            with pytest.raises(MESSAGE_REFUSED):
                send(
                    mime(
                        row(10, recipient="zoë@exämple.eu"),
                        settings=SETTINGS,
                        now=NOW,
                        unsubscribe=None,
                    )
                )
            send(mime(row(11), settings=SETTINGS, now=NOW, unsubscribe=None))
    finally:
        smtp.stop()
    assert [received.recipients for received in smtp.received] == [["zoe@example.eu"]]


def test_the_characters_that_break_a_header_are_the_control_characters_and_separators():
    """What ``one_line`` takes out of a header and ``mime`` refuses in one: control
    characters (C0 and C1) and the line and paragraph separators, by their Unicode
    category, each one of them and nothing else."""
    breaking = {
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
    }
    assert {char for char in map(chr, range(sys.maxunicode + 1)) if breaks_line(char)} == breaking
    assert one_line("A\u2028title\x85in\tthree\x7flines") == "A title in three lines"


@pytest.mark.parametrize("mail_from", ["KEP 2.0 <kep@exämple.eu>", "kép@example.eu"])
def test_a_from_address_that_is_not_ascii_goes_in_utf8(mail_from):
    settings = Settings(mail_from=mail_from, _env_file=None)  # type: ignore[call-arg]
    mail = read(written(mime(row(11), settings=settings, now=NOW, unsubscribe=None)))
    assert parseaddr(str(mail["From"]))[1] == parseaddr(mail_from)[1]
    assert addressed(mail)[1:] == ("zoe@example.eu", "Registration confirmed: A seminar")
