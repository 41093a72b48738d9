"""``sendmail="1"``: mail each alert to ``admin_mail`` with NDPMon's subject and body.

NDPMon ran ``mail -s "NDPMon_Security_Alert: <message>" <admin_mail>`` through a shell
(COMPATIBILITY.md §5.4), so a hostile DNSSL name could run commands. We build the message with
``email.message.EmailMessage`` (the subject made printable, ndpmon.files.text: one line,
no header injection, no control character for the admin's mail reader) and
hand it over without a shell: by SMTP to the configured relay, else to the local
``sendmail -i -t`` (the recipients come from the To: header, so nothing variable is
on its command line), else by SMTP to localhost:25. Failures are logged, never raised.
"""

from __future__ import annotations

import email.utils
import logging
import os
import smtplib
import socket
import subprocess
from email.message import EmailMessage

from ndpmon.checks.alert import Alert
from ndpmon.config.model import Settings
from ndpmon.alerts.action import Action
from ndpmon.alerts.mailbody import ReverseDns, advertised_text, body_for
from ndpmon.alerts.pipe import run_program
from ndpmon.files.text import printable

__all__ = ["Mail", "mail_message", "subject", "recipients"]

log = logging.getLogger("ndpmon")


def subject(message: str) -> str:
    """``NDPMon_Security_Alert: <message>`` on one line: the message's final newline
    (``new IP``) dropped, its control characters written as ``\\x1b``."""
    return "NDPMon_Security_Alert: " + printable(message.rstrip())


def recipients(admin_mail: str) -> list[str]:
    """The addresses of ``admin_mail``: NDPMon's shell split it on blanks; commas too."""
    return admin_mail.replace(",", " ").split()


def mail_message(alert: Alert, admin_mail: str, sender: str, body: str) -> EmailMessage:
    """The mail for ``alert``: body = the mail message + ``\\n``, as NDPMon piped it."""
    msg = EmailMessage()
    msg["To"] = ", ".join(recipients(admin_mail))
    msg["From"] = sender
    msg["Subject"] = subject(alert.message)
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = email.utils.make_msgid("ndpmon", domain=sender.rpartition("@")[2]
                                               or "localhost")
    msg.set_content(body + "\n")
    return msg


class Mail(Action):
    """Send one mail per alert; the transport is chosen from ``<delivery>``."""

    label = "mail"

    def __init__(self, settings: Settings, dns: ReverseDns | None = None) -> None:
        self.admin_mail = settings.admin_mail
        delivery = settings.delivery
        self.sender = delivery.mail_from or f"ndpmon@{socket.gethostname()}"
        self.relay = delivery.mail_relay
        self.sendmail = delivery.sendmail_program
        self.timeout = delivery.exec_timeout
        self.dns = dns
        self.failures = 0

    def notify(self, alert: Alert) -> None:
        try:
            body = body_for(alert, self.dns) + advertised_text(alert)
            msg = mail_message(alert, self.admin_mail, self.sender, body)
        except (ValueError, TypeError) as exc:  # e.g. an address the header parser refuses
            self._failed(f"cannot build the message: {exc}")
            return
        if self.relay is None and _runnable(self.sendmail):
            self._via_sendmail(msg)
        else:
            self._via_smtp(msg, self.relay or ("localhost", 25))

    def _via_sendmail(self, msg: EmailMessage) -> None:
        argv = [self.sendmail, "-i", "-t"]
        try:
            outcome = run_program(argv, msg.as_bytes(), self.timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            self._failed(f"{self.sendmail}: {getattr(exc, 'strerror', None) or exc}")
            return
        if outcome.status != 0:
            self._failed(f"{self.sendmail}: {outcome.describe(self.timeout)}")

    def _via_smtp(self, msg: EmailMessage, relay: tuple[str, int]) -> None:
        host, port = relay
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
                smtp.send_message(msg, self.sender, recipients(self.admin_mail))
        except (OSError, smtplib.SMTPException) as exc:
            self._failed(f"SMTP {host}:{port}: {_smtp_error(exc)}")

    def _failed(self, why: str) -> None:
        self.failures += 1
        log.warning("mail alert to %s not sent: %s", self.admin_mail, why)


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _smtp_error(exc: Exception) -> str:
    """One line: ``Connection refused``, ``550 b'no such user'``..."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error.decode('utf-8', 'replace')}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + ", ".join(exc.recipients)
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(text.split())
