"""Sending email over SMTP, the same way for every service: one message shape (a plain and an HTML part), one
header policy, one connection that reopens after an error, one set of settings (``SMTP_HOST``, ``SMTP_PORT``,
``MAIL_FROM``, ``SMTP_TIMEOUT_S``). What a message says (templates, languages) stays with the service that sends it.
"""

from __future__ import annotations

import email.generator
import email.policy
import io
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from servicekit.config import env, env_int

DEFAULT_FROM = "Recurring orders <orders@recurring-orders.example>"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mail_from: str
    timeout_s: float

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(host=env("SMTP_HOST", "127.0.0.1") or "127.0.0.1", port=env_int("SMTP_PORT", 1025),
                   mail_from=env("MAIL_FROM", DEFAULT_FROM) or DEFAULT_FROM,
                   timeout_s=float(env("SMTP_TIMEOUT_S", "10") or 10))


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (a receipt's PDF): its name, MIME type (``application/pdf``) and bytes."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()


# Headers are not folded below RFC 5322's hard limit: Python folds a long all-ASCII subject right after
# "Subject:", and readers then see it with a leading space.
POLICY = email.policy.default.clone(max_line_length=998)


def build_message(mail: Email, *, sender: str, message_id: str, when: datetime | None = None) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    for name, value in mail.headers:
        msg[name] = value
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    for file in mail.attachments:
        maintype, _, subtype = file.mime_type.partition("/")
        msg.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.filename)
    return msg


def message_id_for(unique_id: str, sender: str, fallback_domain: str = "order-service.local") -> str:
    """A Message-ID derived from an id of ours: a resend after a crash carries the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or fallback_domain
    return f"<{unique_id}@{domain}>"


class Smtp:
    """One SMTP connection, opened on first use and reopened after an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._client: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, s: SmtpSettings) -> Smtp:
        return cls(s.host, s.port, s.timeout_s)

    def send(self, msg: EmailMessage, *, commit: Callable[[], None] | None = None) -> None:
        """Send one message. ``commit``: called once the whole message is with the server, just before the line
        that makes the server take it (the final "."), so that the sender's own record of "sent" is the point of
        no return. If ``commit`` raises, the connection is dropped without that line: the server discards the
        message. If the server refuses the message after ``commit``, SMTPDataError says so (the caller undoes
        its record). If the connection is lost after that line, the message is taken as sent: the server had
        all of it, and sending it again could deliver it twice."""
        client = self._connect()
        try:
            if commit is None:
                client.send_message(msg)
            else:
                _send_with_commit_point(client, msg, commit)
        except BaseException as exc:
            if not isinstance(exc, smtplib.SMTPResponseException):  # a refusal leaves the connection usable
                self._drop()
            raise

    def _connect(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        return self._client

    def _drop(self) -> None:
        """Close the socket without a word: in the middle of DATA, a QUIT would become part of the message."""
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._client = None


class LostAfterCommit(Exception):
    """The connection was lost once the message's last line had left: the server had all of it."""


def _send_with_commit_point(client: smtplib.SMTP, msg: EmailMessage, commit: Callable[[], None]) -> None:
    """smtplib's send_message, with ``commit`` between the message's bytes and its final "." line."""
    client.ehlo_or_helo_if_needed()
    sender = parseaddr(str(msg["Sender"] or msg["From"]))[1]
    recipients = [a for _, a in getaddresses([str(v) for f in ("To", "Cc") for v in msg.get_all(f, [])])]
    out = io.BytesIO()
    email.generator.BytesGenerator(out, policy=msg.policy.clone(linesep="\r\n")).flatten(msg, linesep="\r\n")
    data = re.sub(rb"(?m)^\.", b"..", out.getvalue())  # RFC 5321 4.5.2: a line starting with "." gets another
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    code, reply = client.mail(sender)
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for rcpt in recipients:
        code, reply = client.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
    if len(refused) == len(recipients):
        client.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = client.docmd("data")
    if code != 354:
        client.rset()
        raise smtplib.SMTPDataError(code, reply)
    client.send(data)
    commit()
    client.send(b".\r\n")
    try:
        code, reply = client.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise LostAfterCommit(str(exc)) from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
