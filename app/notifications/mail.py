"""Mail as it goes out: each message of the outbox written as MIME, and handed to the
mail server or written into a folder of .eml files.

Written with the email package's legacy API (``compat32``), which builds and writes a
message in about a third of the CPU time of its modern one (``benchmarks/registrations.py``
times both); ``tests/test_mail_writing.py`` reads both back alike. A message to an address
that is not ASCII needs SMTPUTF8, which only the modern API writes: it is written there.
"""

import contextlib
import os
import re
import smtplib
import ssl
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from email.charset import QP, Charset
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTP, Compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from app.config import STARTTLS, Settings
from app.models import OutboxMessage
from app.notifications.outbox import LINK_MARK
from app.notifications.wording import breaks_line

# -- the message itself ------------------------------------------------------------------


def mime(
    message: OutboxMessage, *, settings: Settings, now: datetime, unsubscribe: str | None
) -> Message:
    """The message as it goes out: text, and the calendar part as an alternative; with
    the legacy API, unless an address is not ASCII."""
    given = (settings.mail_from, message.recipient, message.recipient_name, message.subject)
    if any(map(breaks_line, given)):
        # a header of its own (``one_line`` leaves none in what is queued): refused, as
        # the modern API refuses a line break
        raise ValueError(f"message {message.id} has a control character in a header")
    if not (message.recipient.isascii() and _from_address(settings.mail_from).isascii()):
        return standard_mime(message, settings=settings, now=now, unsubscribe=unsubscribe)
    text = _text_part(_body(message), "plain")
    if message.calendar is not None and message.calendar_method is not None:
        calendar = _text_part(message.calendar, "calendar")
        calendar.set_param("method", message.calendar_method)
        mail: Message = MIMEMultipart(
            "alternative",
            _subparts=[text, calendar],
            boundary=_boundary(text, calendar),
            policy=LEGACY,
        )
    else:
        mail = text
        mail["MIME-Version"] = "1.0"
    # Folded here, in encoded words where not ASCII; the policy folds nothing, so that a
    # long link stays on its header's line.
    mail["From"] = _from(settings.mail_from)
    mail["To"] = _address(message.recipient_name, message.recipient, header="To")
    mail["Subject"] = _folded(message.subject, header="Subject")
    _plain_headers(mail, message, now, unsubscribe)
    return mail


class _AsFolded(Compat32):
    """The legacy API's policy, writing a header that ``mime`` folded (ASCII, its lines
    joined by the policy's line end) as it is: the policy would fold it again, by the
    same rules, to the same bytes (``tests/test_mail_writing.py``), at a third of the
    cost of writing the message."""

    def fold(self, name: str, value: Any) -> str:
        if isinstance(value, str) and value.isascii():
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and value.isascii():
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


@lru_cache(maxsize=4)
def _from_address(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


@lru_cache(maxsize=4)
def _from(mail_from: str) -> str:
    """The From header of the legacy API (an ASCII address), folded: the same for every
    message."""
    return _address(parseaddr(mail_from)[0], _from_address(mail_from), header="From")


# The legacy API's policy, with the line ends that SMTP and .eml files take, and a line
# of text beginning with "From " left as it is (mbox's quoting is not for mail).
LEGACY = _AsFolded(linesep="\r\n", max_line_length=0, mangle_from_=False)
# Text is labelled UTF-8, as the modern API labels it. ASCII text in lines of at most 78
# characters goes as it is (7bit); other text in quoted-printable: readable, and fit for
# any mail server.
_ASCII = Charset("utf-8")
_ASCII.body_encoding = None  # type: ignore[assignment]  # typed as an int; None is 7bit
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    plain = text.isascii() and all(len(line) <= 78 for line in text.splitlines())
    charset = _ASCII if plain else _UTF8
    part = MIMENonMultipart("text", subtype, policy=LEGACY, charset=str(charset))
    part.set_payload(text, charset)
    del part["MIME-Version"]  # said once, by the message
    return part


def _boundary(*parts: Message) -> str:
    """A boundary between the parts, found in none of them: chosen here, for the library
    would compile a pattern for each of its own to search the parts with."""
    while True:
        boundary = f"=_{uuid.uuid4().hex}"
        if not any(boundary in str(part.get_payload()) for part in parts):
            return boundary


# Text that a reader would take for encoded words (RFC 2047): "=?charset?b?...?=".
_LIKE_ENCODED = re.compile(r"=\?\S*\?=")


def _plain(text: str) -> bool:
    """Whether ``text`` may be written as it is: ASCII, with nothing a reader would decode
    (RFC 2047 section 7: a word that looks like an encoded word must be one)."""
    return text.isascii() and not _LIKE_ENCODED.search(text)


def _folded(text: str, *, header: str) -> str:
    """``text`` folded into lines of at most 78 characters where it has room to be: in
    encoded words (RFC 2047) where it is not plain ASCII; else before a space, as
    unfolding gives it back (the library's folding of ASCII leaves lines longer)."""
    if not _plain(text):
        return Header(text, "utf-8", header_name=header).encode(linesep="\r\n")
    lines, width = [""], len(header) + 2
    for word in re.findall(r"\s*\S+|\s+$", text):  # each with the spaces before it
        if lines[-1] and width + len(lines[-1]) + len(word) > 78 and word[0].isspace():
            lines.append(word)
            width = 0
        else:
            lines[-1] += word
    return "\r\n".join(lines)


def _address(name: str, address: str, *, header: str) -> str:
    """A name and address, the name in encoded words where it is not plain ASCII,
    folded."""
    if _plain(name):
        return _folded(formataddr((name, address)), header=header)
    encoded = _folded(name, header=header)
    last = encoded.rpartition("\r\n")[2] if "\r\n" in encoded else f"{header}: {encoded}"
    joint = "\r\n " if len(last) + len(address) + 3 > 78 else " "
    return f"{encoded}{joint}<{address}>"


def _plain_headers(
    mail: Message, message: OutboxMessage, now: datetime, unsubscribe: str | None
) -> None:
    """The headers written alike by both APIs: ASCII, and one word or a few."""
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message.message_id
    mail["Auto-Submitted"] = "auto-generated"
    if unsubscribe is not None:
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def _body(message: OutboxMessage) -> str:
    if message.secret is None:
        return message.body
    return message.body.replace(LINK_MARK, message.secret)


def standard_mime(
    message: OutboxMessage, *, settings: Settings, now: datetime, unsubscribe: str | None
) -> EmailMessage:
    """``mime`` written with the email package's modern API."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = settings.mail_from
    local, _, domain = message.recipient.rpartition("@")
    mail["To"] = Address(display_name=message.recipient_name, username=local, domain=domain)
    mail["Subject"] = message.subject
    _plain_headers(mail, message, now, unsubscribe)
    mail.set_content(_body(message))
    if message.calendar is not None and message.calendar_method is not None:
        mail.add_alternative(
            message.calendar,
            subtype="calendar",
            params={"method": message.calendar_method},
        )
    return mail


# -- where messages go -------------------------------------------------------------------


class Transport(Protocol):
    def connection(self) -> contextlib.AbstractContextManager[Callable[[Message], None]]: ...


class SmtpTransport:
    """A mail server: ``smtp://user:password@host:587?starttls=1`` or ``smtps://host:465``."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.secure = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.secure else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = STARTTLS[parse_qs(parts.query).get("starttls", ["0"])[0].lower()]
        self.timeout = timeout

    @contextlib.contextmanager
    def connection(self) -> Iterator[Callable[[Message], None]]:
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if self.secure:
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                server.starttls(context=context)
            if self.user:
                server.login(self.user, self.password or "")

            def send(mail: Message) -> None:
                _send(server, mail)

            yield send
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                server.quit()


def _send(server: smtplib.SMTP, mail: Message) -> None:
    """What ``server.send_message(mail)`` does for the messages ``mime`` writes, but for
    one thing: the message is written as ``written`` writes it, whereas send_message, for
    a message to ASCII addresses, quotes a line of text that begins with "From " as mbox
    files do (">From ")."""
    sender, recipients, utf8 = _envelope(mail)
    options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
    server.sendmail(sender, recipients, _bytes(mail, utf8), mail_options=options)


# A line break before a space or a tab: where a header was folded.
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unfolded(value: Any) -> str:
    """A header's value on one line, as RFC 5322 unfolds it: ``getaddresses`` reads a
    quoted name folded across lines (a long one with a comma) as several addresses."""
    return _FOLD.sub("", str(value))


def _envelope(mail: Message) -> tuple[str, list[str], bool]:
    """The sender and recipients, from the message's From and To (``mime`` writes no Cc
    or Bcc), and whether any of their addresses is not ASCII."""
    sender = parseaddr(_unfolded(mail["From"]))[1]
    recipients = [
        address for _name, address in getaddresses(map(_unfolded, mail.get_all("To", [])))
    ]
    return sender, recipients, not all(address.isascii() for address in (sender, *recipients))


def written(mail: Message) -> bytes:
    """The message's bytes: with addresses in UTF-8 where they are not ASCII (a message of
    the modern API, see ``mime``)."""
    return _bytes(mail, _envelope(mail)[2])


def _bytes(mail: Message, utf8: bool) -> bytes:
    if utf8:
        return mail.as_bytes(policy=mail.policy.clone(utf8=True))  # type: ignore[call-arg]
    return mail.as_bytes()


class DirectoryTransport:
    """No mail server: each message is written to a folder as an .eml file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def connection(self) -> Iterator[Callable[[Message], None]]:
        self.folder.mkdir(parents=True, exist_ok=True)

        def write(mail: Message) -> None:
            name = parseaddr(str(mail["Message-ID"]))[1].split("@")[0] or uuid.uuid4().hex
            data = written(mail)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self.folder / f"{name}.eml")  # whole files only

        yield write


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url, settings.smtp_timeout)
    return DirectoryTransport(settings.mail_dir)


# What the server refuses of one message; anything else (a server gone away, a network
# error) fails the rest of the batch alike, to be tried again later.
MESSAGE_REFUSED = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,  # an address in UTF-8, to a server without SMTPUTF8
    ValueError,
    MessageError,  # a message the email package cannot write
)


def refused_for_good(error: Exception) -> bool:
    """Whether the mail server refused a message with a permanent reply (5xx, RFC 5321
    4.2.1: no such mailbox, a policy that rejects it): trying again gets the same answer.
    A transient one (4xx: try later) is tried again, and so is a refused sender: the
    From address is the service's own, the same for every message, so its refusal (530
    authentication required, 553 not this user's address) is the settings' or the
    server's to put right, not the message's."""
    if isinstance(error, smtplib.SMTPSenderRefused):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in error.recipients.values()]
    else:
        codes = [getattr(error, "smtp_code", 0)]
    return bool(codes) and all(500 <= code < 600 for code in codes)
