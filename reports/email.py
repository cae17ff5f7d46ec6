"""E-mails to councils, rendered from Jinja2 templates (plain text and HTML, one pair a kind):
`reports/templates/email/<kind>.txt.j2` and `<kind>.html.j2`; the subject is the text
template's first line.

What a template is given is counts, council names, periods, dates and links: never a child
identifier or a local_child_id (`pipeline.chase` builds the context; a test searches every
message that reaches the loopback SMTP server).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates" / "email"
KINDS = ("reminder", "upload", "finding", "failure")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"], default_for_string=False),  # HTML escaped, text not
        undefined=StrictUndefined,  # a missing value is a bug, never a blank in a letter to a council
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(kind: str, context: dict[str, Any]) -> RenderedEmail:
    if kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {kind!r}")
    text = _environment().get_template(f"{kind}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    html = _environment().get_template(f"{kind}.html.j2").render(subject=subject.strip(), **context)
    return RenderedEmail(subject=subject.strip(), text=body.lstrip("\n"), html=html)


def to_message(email: RenderedEmail, *, sender: str, recipients: list[str], reference: str) -> EmailMessage:
    """A multipart/alternative message; `reference` (the message log's key) goes in a header so a
    council's reply or a bounce can be matched to what was sent."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "lscb.invalid")
    message["X-LSCB-Reference"] = reference
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
