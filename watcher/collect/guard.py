"""What the crawl may fetch: http(s) only, and only public addresses (no SSRF).

A feed is written by someone else: its links may point at the machine that runs the
crawl (``http://127.0.0.1:8080/admin``), at the local network, or at a public name
that resolves to one of those. Whatever the crawl fetches is republished, so none of
that may be fetched. The rule:

- only ``http`` and ``https`` URLs are fetched, and only they become item URLs;
- a request may reach a **non-public address** (loopback, private, link-local,
  unique-local, CGNAT, multicast, reserved, unspecified, or an IPv6 address wrapping
  one of those) only when it belongs to a source configured on such an address, and
  then only that source's own host and port, exactly as ``sources.yaml`` writes them
  (``http://127.0.0.1:8000/feed.xml`` may fetch ``http://127.0.0.1:8000/...``, not
  ``:8001`` nor ``localhost:8000``). "Configured on such an address" means an IP
  literal that is not public, or ``localhost`` (``*.localhost``); a source on an
  intranet *name* must be written with its address. Requests that belong to no
  source (robots.txt, ``watcher sources add``) may reach any such configured origin;
- everything else must resolve to public addresses only.

Where it is checked, so that it holds for every request, redirects included:

- :class:`UrlGuardMiddleware`, first of the downloader middlewares: the scheme, IP
  literals, ``localhost`` names and configured origins, for every request that goes
  to the downloader (a redirect is a new request and goes through it again);
- :class:`GuardedResolver`, the crawl's DNS resolver: the address a name resolves to
  is checked when the connection is about to be made, and the connection is made to
  that very address, so a name cannot resolve to a public address when checked and to
  127.0.0.1 when connected (DNS rebinding);
- :meth:`UrlGuard.refusal` is also used by the spider before it stores a listing's
  entry, so a ``file:``/``data:``/``javascript:`` link or an internal address never
  becomes an item.

A refused request fails with the kinds ``not_http`` or ``internal_address``; the
source and the other items carry on.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.settings import BaseSettings
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from w3lib.url import safe_url_string

logger = logging.getLogger(__name__)

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Scrapy setting: {source id: "host:port"} of the sources configured on a non-public
# address; "" for the page of `watcher sources add`.
ORIGINS_SETTING = "WATCHER_INTERNAL_ORIGINS"

Origin = tuple[str, int]

# Names the resolver refused in this process, and the address they resolved to: the
# downloader only says "no results for hostname lookup", UrlGuardMiddleware tells why.
REFUSED_NAMES: dict[str, str] = {}


class Refused(IgnoreRequest):
    """A request the crawl must not make; ``kind`` is the source's failure kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class InternalAddressError(DNSLookupError):
    """A name resolved to a non-public address."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an IP address is one the public internet routes to a host."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public(embedded):
            return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or getattr(ip, "is_site_local", False)
    )


# The shorthand IPv4 spellings resolvers still accept (inet_aton): one number
# (2130706433), hexadecimal (0x7f000001), octal (0177.0.0.1), fewer parts (127.1).
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.I)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, in any form a resolver would read as one:
    the shorthand forms must not pass for names and escape the address check."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_localhost(host: str) -> bool:
    """``localhost`` and ``*.localhost`` always mean this machine (RFC 6761)."""
    return host == "localhost" or host.endswith(".localhost")


def _host(host: str | None) -> str:
    """The host as a browser, Scrapy (IDNA) and the store (``canonical_url``) read it:
    percent-escapes decoded, full-width digits and ideographic dots folded, so that
    ``127.0.0.%31`` or ``１２７。０。０。１`` cannot pass for a name and then be stored
    or fetched as 127.0.0.1."""
    host = unquote(host or "")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.rstrip(".").lower()


def _spellings(url: str) -> list[str]:
    """``url`` as written, and as Scrapy requests it (w3lib reads a ``\\`` as the end of
    the host, as browsers do: ``http://127.0.0.1\\@example.org/`` is 127.0.0.1 to them
    and example.org to ``urlsplit``)."""
    spellings = [url]
    with contextlib.suppress(ValueError, UnicodeError):
        fetched = safe_url_string(url.strip())
        if fetched != url:
            spellings.append(fetched)
    return spellings


def origin_of(url: str) -> Origin | None:
    """(host, port) of an http(s) URL, the port made explicit; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError:
        return None
    host = _host(parts.hostname)
    if scheme not in SCHEMES or not host:
        return None
    return host, port or DEFAULT_PORTS[scheme]


def internal_origin(url: str) -> Origin | None:
    """The origin of a source URL configured on a non-public address, else None."""
    origin = origin_of(url)
    if origin is None:
        return None
    literal = ip_literal(origin[0])
    if (literal is not None and not is_public(literal)) or is_localhost(origin[0]):
        return origin
    return None


def internal_origins(sources: Iterable[Any]) -> dict[str, str]:
    """``{source id: "host:port"}`` of the sources configured on a non-public address."""
    found = {}
    for source in sources:
        origin = internal_origin(source.url)
        if origin is not None:
            found[source.id] = f"{origin[0]}:{origin[1]}"
    return found


def _proxy_origin(proxy: str) -> Origin | None:
    return origin_of(proxy if "://" in proxy else f"http://{proxy}")


def _parse_origin(text: str) -> Origin:
    host, _, port = text.rpartition(":")
    return host, int(port)


class UrlGuard:
    """The rule above, for the sources of one crawl."""

    def __init__(
        self, origins: Mapping[str, str] | None = None, proxies: Iterable[str] = ()
    ) -> None:
        self.origins: dict[str, Origin] = {
            key: _parse_origin(value) for key, value in (origins or {}).items()
        }
        # An HTTP proxy from the environment is connected to whatever its address; it is
        # never a destination itself. (Behind a proxy, the proxy resolves the names.)
        self.proxy_hosts = {origin[0] for origin in map(_proxy_origin, proxies) if origin}
        self._configured = set(self.origins.values())
        # What the resolver lets resolve to a non-public address.
        self.trusted_names = {host for host, _port in self.origins.values()} | self.proxy_hosts

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> UrlGuard:
        return cls(settings.getdict(ORIGINS_SETTING), urllib.request.getproxies().values())

    def allowed_origins(self, source_id: str | None) -> set[Origin]:
        if source_id is None:  # robots.txt, discovery: follows an already checked request
            return self._configured
        origin = self.origins.get(source_id)
        return {origin} if origin is not None else set()

    def refusal(self, url: str, source_id: str | None = None) -> tuple[str, str] | None:
        """(kind, message) when ``url`` may not be fetched or stored, else None.

        Decides what can be decided without DNS; a name is then checked by the resolver.
        Every way of reading ``url`` must pass (see :func:`_spellings`).
        """
        for spelling in _spellings(url):
            refused = self._refusal(spelling, url, source_id)
            if refused is not None:
                return refused
        return None

    def _refusal(self, spelling: str, url: str, source_id: str | None) -> tuple[str, str] | None:
        origin = origin_of(spelling)
        if origin is None:
            return "not_http", f"not an http(s) URL: {url[:200]}"
        if origin in self.allowed_origins(source_id):
            return None
        host = origin[0]
        literal = ip_literal(host)
        if literal is not None:
            if is_public(literal):
                return None
            return "internal_address", f"{url[:200]}: {host} is not a public address"
        if is_localhost(host):
            return "internal_address", f"{url[:200]}: {host} is this machine"
        if host in self.proxy_hosts:
            return "internal_address", f"{url[:200]}: {host} is the crawl's HTTP proxy"
        return None


class UrlGuardMiddleware:
    """Every request to the downloader passes :meth:`UrlGuard.refusal` first."""

    def __init__(self, guard: UrlGuard) -> None:
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Any) -> UrlGuardMiddleware:
        return cls(UrlGuard.from_settings(crawler.settings))

    def process_request(self, request: Any) -> None:
        refused = self.guard.refusal(request.url, request.meta.get("source_id"))
        if refused is not None:
            kind, message = refused
            logger.warning("refused: %s", message)
            raise Refused(kind, message)


class ResolvedAddressCheck:
    """A name :class:`GuardedResolver` refused fails as ``internal_address``, not as a DNS
    error. Placed last before the downloader, so that it is not retried either."""

    def process_exception(self, request: Any, exception: Exception) -> None:
        origin = origin_of(request.url)
        address = REFUSED_NAMES.get(origin[0]) if origin else None
        if address is not None:
            raise Refused(
                "internal_address",
                f"{request.url[:200]}: {origin[0]} resolves to {address}, not a public address",
            ) from exception


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, answering only public addresses.

    Twisted connects to the address this returns, so what is checked is what is
    connected to. The hosts of the configured internal origins (and of an HTTP proxy
    taken from the environment) resolve as usual: :class:`UrlGuardMiddleware` already
    limited which requests may go there.
    """

    def __init__(self, reactor: Any, cache_size: int, timeout: float, trusted: set[str]) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.trusted = trusted

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        trusted = UrlGuard.from_settings(settings).trusted_names
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), trusted)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred:  # noqa: N802
        return super().getHostByName(name, timeout).addCallback(self._check, name)

    def _check(self, address: str, name: str) -> str:
        host = _host(name)
        if host in self.trusted or is_public(address):
            return address
        REFUSED_NAMES[host] = address
        logger.warning("refused: %s resolves to %s, not a public address", name, address)
        raise InternalAddressError(f"{name} resolves to {address}, not a public address")
