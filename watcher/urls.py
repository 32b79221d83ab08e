"""Canonical URLs: one spelling per page, so that an item has one identity.

Rules (applied by :func:`canonical_url`):

- scheme and host are lower-cased; an internationalised host is kept in its
  IDNA (``xn--``) form; the default port (80 for http, 443 for https) is dropped;
- the fragment (``#…``) is removed: it never changes the page a server sends;
- tracking parameters are removed: ``utm_*``, ``mtm_*``, ``pk_*``, ``at_*``
  (Matomo, Piwik, AT Internet), ``fbclid``, ``gclid``, ``dclid``, ``msclkid``,
  ``yclid``, ``igshid``, ``mc_cid``, ``mc_eid``, ``xtor``, ``xts``,
  ``_hsenc``, ``_hsmi``;
- the remaining query parameters are sorted (by name, then value), blank
  values kept;
- an empty path becomes ``/``; otherwise the trailing slash is kept as
  written, because ``/a`` and ``/a/`` may be different pages on a server;
- percent-escapes are normalised (upper-case hex, unreserved characters
  decoded) so that ``%7e`` and ``~`` are the same URL.

http and https are NOT merged: a few public sites still serve different
content on each, and the site's own redirect settles it.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "at_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "xtor",
        "xts",
        "_hsenc",
        "_hsmi",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/:@!$&'()*+,;=-._~"


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def _normalise_path(path: str) -> str:
    # Decode then re-encode so that equivalent escapes collapse to one spelling.
    return quote(unquote(path), safe=_SAFE_PATH) or "/"


def canonical_url(url: str) -> str:
    """The canonical spelling of ``url`` (see the module's rules).

    A URL that cannot be parsed (an unclosed ``[``, a port past 65535) is returned
    as written: guessing would give it another page's identity, and the crawl's
    guard refuses it anyway.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii") if host else host
    host = host.lower()
    if ":" in host:  # an IPv6 address keeps its brackets, or the port would be misread
        host = f"[{host}]"
    netloc = host
    if parts.username:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    if port and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    pairs = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(name)
    ]
    query = urlencode(sorted(pairs), quote_via=quote, safe="-._~")
    return urlunsplit((scheme, netloc, _normalise_path(parts.path), query, ""))


def host_of(url: str) -> str:
    """Lower-cased host of ``url`` ('' when there is none, or no host can be read)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # an unclosed "[": one such URL once stopped a whole crawl
        return ""


_SCHEME = re.compile(r"^https?://", re.I)


def is_http_url(url: str) -> bool:
    return bool(_SCHEME.match(url or ""))


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL a crawl can fetch, said after the URL
    (``'…' has an invalid port…``); None when it is one.

    ``urlsplit`` raises ValueError on an unclosed ``[`` or a bad IPv6 address, and
    its ``port`` on a port that is not a number up to 65535: a configured URL is
    checked here first, so that such a one is a clear error, not a traceback.
    """
    if not is_http_url(url):
        return "is not an http(s) URL"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has an invalid port: a port is a number from 1 to 65535"
    host = parts.hostname
    if not host or any(char.isspace() for char in host):
        return "has no valid host name"
    return None
