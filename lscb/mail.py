"""Sending e-mail: an SMTP server, or, with none configured, an outbox folder of .eml files (a
pickup directory: the demo and a machine without a mail server still show what was sent).

`mailer(settings)` picks one from the settings; under Airflow, `lscb.airflow_support.mailer()`
takes the SMTP server from the `lscb_smtp` connection first. Both satisfy `pipeline.chase.Mailer`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from lscb.settings import Settings


@dataclass
class SmtpMailer:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 30.0

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls and not self.use_ssl:
                client.starttls(context=context)
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


@dataclass
class OutboxMailer:
    folder: Path
    sender: str

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        reference = str(message.get("X-LSCB-Reference", "message")).replace(":", "_").replace("/", "_")
        path = self.folder / f"{stamp}-{reference}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # addresses are personal data
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))


def mailer(settings: Settings) -> SmtpMailer | OutboxMailer:
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
        )
    return OutboxMailer(settings.data_path() / "outbox", settings.mail_from)
