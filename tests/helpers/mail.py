"""A real SMTP server in the test process (aiosmtpd), and reading what it received."""

import threading
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from typing import Any

import icalendar
from aiosmtpd.controller import Controller

from tests.helpers.processes import free_port


@dataclass
class Received:
    """One message as the server received it: the envelope's recipients and the mail."""

    recipients: list[str]
    mail: EmailMessage

    @property
    def subject(self) -> str:
        # A folded header may begin on its second line; readers drop the leading space.
        return str(self.mail["Subject"]).strip()

    @property
    def text(self) -> str:
        part = self.mail.get_body(("plain",))
        assert part is not None
        return part.get_content()

    @property
    def calendar_part(self) -> EmailMessage | None:
        for part in self.mail.walk():
            if part.get_content_type() == "text/calendar":
                return part  # type: ignore[return-value]
        return None

    @property
    def calendar(self) -> icalendar.Calendar:
        part = self.calendar_part
        assert part is not None, "the message carries no calendar part"
        return icalendar.Calendar.from_ical(part.get_content())

    @property
    def vevent(self) -> icalendar.Event:
        (event,) = self.calendar.walk("VEVENT")
        return event


class _Handler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.refused: dict[str, str] = {}  # the server's reply to RCPT TO, by address
        self.sender_refused: str | None = None  # its reply to MAIL FROM, if not 250

    async def handle_MAIL(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            reply = self.sender_refused
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        with self.lock:
            reply = self.refused.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if envelope.smtp_utf8:  # headers in UTF-8, which a bytes parser reads as ASCII
            text = envelope.original_content.decode()
            mail = message_from_string(text, policy=policy.default)
        else:
            mail = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on a fixed port that can be stopped and started again; with
    ``utf8``, one that takes addresses in UTF-8 (SMTPUTF8)."""

    def __init__(self, *, utf8: bool = False) -> None:
        self.port = free_port()
        self.utf8 = utf8
        self.handler = _Handler()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.utf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def refuse(self, address: str, reply: str) -> None:
        """Answer ``reply`` (``550 5.1.1 ...``, ``451 4.3.0 ...``) to mail for ``address``."""
        with self.handler.lock:
            self.handler.refused[address] = reply

    def refuse_sender(self, reply: str | None) -> None:
        """Answer ``reply`` to every MAIL FROM (``530 5.7.0 Authentication required``), or
        accept it again (None)."""
        with self.handler.lock:
            self.handler.sender_refused = reply

    def to(self, address: str) -> list[Received]:
        return [message for message in self.received if address in message.recipients]

    def one_to(self, address: str, subject_start: str = "") -> Received:
        found = [m for m in self.to(address) if m.subject.startswith(subject_start)]
        assert len(found) == 1, [m.subject for m in self.to(address)]
        return found[0]
