"""Building one subscriber's e-mail: headers that cannot be forged, two parts.

Everything that comes from the web (item titles, summaries) stays in the body;
the subject is built from our own strings and numbers only. Names and
addresses go through ``email.headerregistry.Address``, which quotes a display
name, so a name such as ``"x" <a@b>, c@d`` stays one mailbox.

``List-Unsubscribe`` (RFC 2369) must reach mail clients as ``<https://…>,
<mailto:…>``: the email package would turn a line longer than 78 characters
into RFC 2047 encoded-words, which no client reads as a URI. So that header is
written already folded (one URI a line) and the message's policy leaves such
raw headers as they are (``refold_source="none"``); the URIs are ASCII and
checked, so nothing in them needs encoding.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from watcher.base.weeks import parse_week
from watcher.deliver.tokens import is_loopback_http
from watcher.exceptions import ConfigError, DeliveryError

SUBJECT_PREFIX = "Veille EIT Grand Est"
MESSAGE_POLICY = policy.SMTP.clone(refold_source="none")
ONE_CLICK = "List-Unsubscribe=One-Click"

# Deliberately narrower than RFC 5322: what real subscribers' addresses look like.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


MAX_EMAIL_CHARS = 254


class AddressError(ValueError):
    """An e-mail address or display name that cannot be used in a header."""


def clean_name(name: str) -> str:
    """A display name on one line: control characters (CR, LF, tab…) become spaces."""
    out = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in name)
    return " ".join(out.split())[:200]


def validate_email(email: str) -> str:
    """The address, stripped, or AddressError: one plain mailbox, no name, no list."""
    value = email.strip()
    if not value:
        raise AddressError("empty e-mail address")
    if any(ch in value for ch in '\r\n<>,;"() \t'):
        raise AddressError(f"not a single plain e-mail address: {value!r}")
    # RFC 5321 4.5.3.1.3: a path is at most 256 octets, <> included; a longer
    # address (the regex lets 64 + 1 + 253 through) is one no server delivers to.
    if value.count("@") != 1 or len(value) > MAX_EMAIL_CHARS or not _EMAIL_RE.match(value):
        raise AddressError(f"not a valid e-mail address: {value!r}")
    local, domain = value.split("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError(f"not a valid e-mail address: {value!r}")
    return value


def mailbox(email: str, name: str = "") -> Address:
    """An Address whose name cannot smuggle a second recipient or a header."""
    addr = validate_email(email)
    local, domain = addr.split("@")
    return Address(display_name=clean_name(name), username=local, domain=domain)


def parse_sender(value: str) -> Address:
    """The configured sender, ``Name <addr>`` or ``addr``; ConfigError when unusable."""
    if len(getaddresses([value])) != 1:
        raise ConfigError(f"delivery.sender: give exactly one address, not {value!r}")
    name, addr = parseaddr(value)
    try:
        return mailbox(addr, name)
    except AddressError as exc:
        raise ConfigError(f"delivery.sender: {exc}") from None


def build_subject(week: str, open_calls: int) -> str:
    """French subject with the week and the number of open calls for projects."""
    year, number = parse_week(week)
    subject = f"{SUBJECT_PREFIX} – semaine {number} ({year})"
    if open_calls == 1:
        subject += " – 1 appel à projets ouvert"
    elif open_calls > 1:
        subject += f" – {open_calls} appels à projets ouverts"
    return subject


def body_parts(html: str, text: str) -> tuple[MIMEPart, MIMEPart]:
    """The plain-text and HTML parts, built once and shared by every message of a cut
    (encoding them is most of the cost of a message)."""
    text_part = MIMEPart(policy=policy.SMTP)
    text_part.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    html_part = MIMEPart(policy=policy.SMTP)
    html_part.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return text_part, html_part


def list_unsubscribe(unsubscribe_url: str = "", unsubscribe_mailto: str = "") -> str:
    """The field body, folded between URIs (CRLF + space), never encoded; "" if none."""
    links = []
    if unsubscribe_url:
        if not (unsubscribe_url.startswith("https://") or is_loopback_http(unsubscribe_url)) or (
            len(unsubscribe_url) > 900
            or not unsubscribe_url.isascii()
            or any(ch in unsubscribe_url for ch in '\r\n\t <>,"')
        ):
            raise DeliveryError(f"unsubscribe link {unsubscribe_url!r}: expected an https URL")
        links.append(f"<{unsubscribe_url}>")
    if unsubscribe_mailto:
        mailto = validate_email(unsubscribe_mailto)
        links.append(f"<mailto:{mailto}?subject=desinscription>")
    return ",\r\n ".join(links)


def build_message(
    *,
    sender: Address,
    to: Address,
    subject: str,
    html: str,
    text: str,
    date: datetime,
    unsubscribe_mailto: str = "",
    unsubscribe_url: str = "",
    reply_to: Address | None = None,
    week: str = "",
    parts: tuple[MIMEPart, MIMEPart] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML)."""
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["MIME-Version"] = "1.0"
    msg["From"] = sender
    msg["To"] = to
    if reply_to is not None:
        msg["Reply-To"] = reply_to
    # Subject is ours, but strip line breaks anyway: a header is one logical line.
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(idstring=week.replace("-", "") or None, domain=sender.domain)
    # RFC 2919: clients group and filter the bulletins by it.
    msg["List-Id"] = f"{SUBJECT_PREFIX} <veille.{sender.domain}>"
    links = list_unsubscribe(unsubscribe_url, unsubscribe_mailto)
    if links:
        msg.set_raw("List-Unsubscribe", links)
    if unsubscribe_url:
        # RFC 8058 one-click: a POST to the https link unsubscribes, no page, no login.
        msg["List-Unsubscribe-Post"] = ONE_CLICK
    msg["Auto-Submitted"] = "auto-generated"
    text_part, html_part = parts or body_parts(html, text)
    msg.make_alternative()
    msg.attach(text_part)
    msg.attach(html_part)
    return msg
