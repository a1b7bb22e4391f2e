"""The sender: delivers the outbox over SMTP (or into a folder of .eml files), retrying
with growing back-off, and fires the time-based notices.

A message is claimed for a while before it is sent (``claimed_by``, ``claimed_until``),
in a short transaction: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED``, so that
two senders never claim the same message; on SQLite every transaction takes the write
lock, which serialises claims. The mail server is spoken to outside any transaction, so
a slow or absent server never holds a lock that requests wait for. The message is then
marked sent, or put back with a later attempt, or marked failed after
``KEP_MAIL_MAX_ATTEMPTS``. A sender that dies between handing a message to the server
and marking it sent is the one case in which a message can go out twice: when the claim
expires, another sender tries it again, with the same ``Message-ID``.
"""

import contextlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock, system_clock
from app.config import Settings
from app.models import MessageStatus, OutboxMessage
from app.notifications import notices, preferences
from app.notifications.outbox import LINK_MARK

log = logging.getLogger(__name__)

# How long a claim lasts: far longer than one delivery may take (the SMTP timeout).
CLAIM = timedelta(minutes=10)
# Messages claimed at once.
BATCH = 50
# The longest wait between two attempts.
LONGEST_WAIT = timedelta(hours=6)
# How long stopping waits for a delivery in progress; a message cut off is sent again
# once its claim expires.
STOP_WAIT = 3


# -- the message itself ------------------------------------------------------------------


def mime(
    message: OutboxMessage, *, settings: Settings, now: datetime, unsubscribe: str | None
) -> Message:
    """The message as it goes out: text, and the calendar part as an alternative.

    Written with the email package's legacy API (``compat32``), which builds and writes
    a message about three times faster than its modern one (``benchmarks/registrations.py``
    times both): the parts and headers are the same once read. A message to an address
    that is not ASCII needs SMTPUTF8, which only the modern API writes: it is built there.
    """
    given = (settings.mail_from, message.recipient, message.recipient_name, message.subject)
    if any(unicodedata.category(char) in BREAKS for value in given for char in value):
        # a header of its own: refused, as the modern API refuses a line break
        raise ValueError(f"message {message.id} has a control character in a header")
    if not (message.recipient.isascii() and parseaddr(settings.mail_from)[1].isascii()):
        return standard_mime(message, settings=settings, now=now, unsubscribe=unsubscribe)
    text = _text_part(_body(message), "plain")
    if message.calendar is not None and message.calendar_method is not None:
        calendar = _text_part(message.calendar, "calendar")
        calendar.set_param("method", message.calendar_method)
        mail: Message = MIMEMultipart("alternative", _subparts=[text, calendar], policy=LEGACY)
    else:
        mail = text
        mail["MIME-Version"] = "1.0"
    # Folded here, in encoded words where not ASCII; the policy folds nothing, so that a
    # long link stays on its header's line.
    mail["From"] = _address(*parseaddr(settings.mail_from), header="From")
    mail["To"] = _address(message.recipient_name, message.recipient, header="To")
    mail["Subject"] = _folded(message.subject, header="Subject")
    _plain_headers(mail, message, now, unsubscribe)
    return mail


# Control characters, and the line and paragraph separators: what the legacy API would
# end a header's line at.
BREAKS = ("Cc", "Zl", "Zp")
# The legacy API's policy, with the line ends that SMTP and .eml files take, and a line
# of text beginning with "From " left as it is (mbox's quoting is not for mail).
LEGACY = compat32.clone(linesep="\r\n", max_line_length=0, mangle_from_=False)
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


def _folded(text: str, *, header: str) -> str:
    """``text`` folded into lines of at most 78 characters where it has room to be: in
    encoded words (RFC 2047) where it is not ASCII; else before a space, as unfolding
    gives it back (the library's folding of ASCII leaves lines longer)."""
    if not text.isascii():
        return Header(text, "utf-8", header_name=header).encode("\r\n")
    lines, width = [""], len(header) + 2
    for word in re.findall(r"\s*\S+|\s+$", text):  # each with the spaces before it
        if lines[-1] and width + len(lines[-1]) + len(word) > 78 and word[0].isspace():
            lines.append(word)
            width = 0
        else:
            lines[-1] += word
    return "\r\n".join(lines)


def _address(name: str, address: str, *, header: str) -> str:
    """A name and address, the name in encoded words where it is not ASCII, folded."""
    if name.isascii():
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
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
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
    sender = parseaddr(str(mail["From"]))[1]
    recipients = [address for _name, address in getaddresses(map(str, mail.get_all("To", [])))]
    options = [] if _ascii_addresses(mail) else ["SMTPUTF8", "BODY=8BITMIME"]
    server.sendmail(sender, recipients, written(mail), mail_options=options)


def _ascii_addresses(mail: Message) -> bool:
    headers = [str(mail["From"]), *map(str, mail.get_all("To", []))]
    return all(address.isascii() for _name, address in getaddresses(headers))


def written(mail: Message) -> bytes:
    """The message's bytes: with addresses in UTF-8 where they are not ASCII (a message of
    the modern API, see ``mime``)."""
    if _ascii_addresses(mail):
        return mail.as_bytes()
    return mail.as_bytes(policy=mail.policy.clone(utf8=True))  # type: ignore[call-arg]


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


# -- claiming and marking ----------------------------------------------------------------


def wait_after(attempts: int, settings: Settings) -> timedelta:
    """The wait before the next attempt: doubling from KEP_MAIL_RETRY_SECONDS."""
    wait = timedelta(seconds=settings.mail_retry_seconds) * (2 ** min(attempts - 1, 20))
    return min(wait, LONGEST_WAIT)


@lru_cache(maxsize=1)
def _claim_statement() -> Any:
    """Claim the due messages no other sender holds, oldest first, in one statement that
    answers them."""
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == MessageStatus.pending,
            OutboxMessage.next_attempt_at <= bindparam("now"),
            or_(
                OutboxMessage.claimed_until.is_(None),
                OutboxMessage.claimed_until <= bindparam("now"),
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("batch"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            claimed_by=bindparam("worker"),
            claimed_until=bindparam("until"),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )


def claim(sessions: sessionmaker[Session], worker: str, now: datetime) -> list[OutboxMessage]:
    """Claim the due messages no other sender holds, oldest first."""
    values = {"now": now, "worker": worker, "until": now + CLAIM, "batch": BATCH}
    with sessions.begin() as session:
        rows = list(session.scalars(_claim_statement(), values))
        session.expunge_all()
    return sorted(rows, key=lambda row: row.id)


@lru_cache(maxsize=1)
def _mark_statement() -> Any:
    """A claimed message's new state (the values given), if this sender still holds it;
    on the session's connection, without the ORM's bookkeeping: once per message."""
    return update(OutboxMessage).where(
        OutboxMessage.id == bindparam("outbox_id"),
        OutboxMessage.claimed_by == bindparam("worker"),
    )


def _mark(
    sessions: sessionmaker[Session], message: OutboxMessage, worker: str, **values: object
) -> None:
    with sessions.begin() as session:
        session.connection().execute(
            _mark_statement(), {"outbox_id": message.id, "worker": worker, **values}
        )


def _sent(
    sessions: sessionmaker[Session], message: OutboxMessage, worker: str, now: datetime
) -> None:
    _mark(
        sessions,
        message,
        worker,
        status=MessageStatus.sent,
        sent_at=now,
        secret=None,  # the link has gone out: the outbox forgets it
        claimed_by=None,
        claimed_until=None,
    )


def _failed(
    sessions: sessionmaker[Session],
    message: OutboxMessage,
    worker: str,
    error: str,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    final = message.attempts >= settings.mail_max_attempts
    values: dict[str, object] = {
        "last_error": error[:2000],
        "claimed_by": None,
        "claimed_until": None,
    }
    if final:
        values.update(status=MessageStatus.failed, secret=None)
    else:
        values.update(next_attempt_at=now + wait_after(message.attempts, settings))
    _mark(sessions, message, worker, **values)
    log.warning(
        "message %s (%s) not delivered, attempt %s%s: %s",
        message.id,
        message.kind,
        message.attempts,
        " (given up)" if final else "",
        error,
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}"


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


@dataclass(frozen=True, slots=True)
class Delivered:
    sent: int = 0
    failed: int = 0


def deliver_due(
    sessions: sessionmaker[Session],
    transport: Transport,
    *,
    settings: Settings,
    clock: Clock,
    worker: str,
) -> Delivered:
    """Claim and deliver one batch of due messages."""
    messages = claim(sessions, worker, clock())
    if not messages:
        return Delivered()
    with sessions() as session:
        codes = {
            message.id: preferences.unsubscribe_code(session, message.user_id, message.kind)
            for message in messages
            if message.optional and message.user_id is not None
        }
    sent = failed = 0
    try:
        with transport.connection() as send:
            for message in messages:
                code = codes.get(message.id)
                unsubscribe = preferences.unsubscribe_url(settings.base_url, code) if code else None
                try:
                    send(mime(message, settings=settings, now=clock(), unsubscribe=unsubscribe))
                except MESSAGE_REFUSED as error:  # this message only; the next may go
                    _failed(
                        sessions, message, worker, _describe(error), settings=settings, now=clock()
                    )
                    failed += 1
                    continue
                _sent(sessions, message, worker, clock())
                sent += 1
    except (smtplib.SMTPException, OSError) as error:
        for message in messages[sent + failed :]:
            _failed(sessions, message, worker, _describe(error), settings=settings, now=clock())
            failed += 1
    return Delivered(sent=sent, failed=failed)


# -- the loop ------------------------------------------------------------------------------


class Sender:
    """Delivers the outbox and fires the notices, every ``KEP_MAIL_POLL_SECONDS``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        transport: Transport | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.transport = transport or transport_for(settings)
        self.clock = clock
        self.worker = str(uuid.uuid4())
        self.stopping = threading.Event()

    def run_once(self) -> Delivered:
        """Fire the due notices, then deliver until nothing is due."""
        notices.fire_due(self.sessions, settings=self.settings, now=self.clock())
        total = Delivered()
        while not self.stopping.is_set():
            batch = deliver_due(
                self.sessions,
                self.transport,
                settings=self.settings,
                clock=self.clock,
                worker=self.worker,
            )
            total = Delivered(total.sent + batch.sent, total.failed + batch.failed)
            if batch.sent + batch.failed < BATCH:
                break
        return total

    @property
    def where(self) -> str:
        settings = self.settings
        return "the mail server in KEP_SMTP_URL" if settings.smtp_url else f"{settings.mail_dir}/"

    def run(self) -> None:
        """Until ``stop()``: a failing database or mail server is logged and tried again."""
        logging.getLogger("app.notifications").warning(  # seen at any level of logging
            "delivering mail to %s every %s s", self.where, self.settings.mail_poll_seconds
        )
        while not self.stopping.is_set():
            try:
                self.run_once()
            except OperationalError as error:
                # The database busy (SQLite's write lock held by a long change) or out of
                # reach: it passes, and a traceback would say nothing more.
                log.warning(
                    "the sender could not use the database (%s); it tries again", error.orig
                )
            except Exception:
                log.exception("the sender's round failed; it tries again")
            self.stopping.wait(self.settings.mail_poll_seconds)

    def stop(self) -> None:
        self.stopping.set()


def start_thread(sender: Sender) -> threading.Thread:
    thread = threading.Thread(target=sender.run, name="kep-mail-sender", daemon=True)
    thread.start()
    return thread
