"""Failure kinds: one short, stable name per way a source can fail.

They end up in ``source_runs.error_kind`` and in the summary table, so that an
operator (and ``watcher sources check``) can tell a dead host from a moved
page or a broken feed.
"""

from __future__ import annotations

from typing import Any

KINDS = {
    "dns": "the host name does not resolve",
    "connection": "the connection was refused or lost",
    "timeout": "no answer within the download timeout",
    "tls": "the TLS handshake failed",
    "too_large": "the response is larger than max_response_bytes",
    "redirect_loop": "the redirects go round in a loop, or past the redirect limit",
    "bad_encoding": "the body cannot be decoded as its Content-Encoding (gzip, deflate, br) says",
    "http_404": "the page is not found (404)",
    "http_410": "the page is gone (410)",
    "http_403": "access refused (403); the host is left alone for host_backoff_hours",
    "http_429": "too many requests (429); the host is left alone for host_backoff_hours",
    "http_5xx": "the server failed (5xx) after retries",
    "http_4xx": "the server refused the request (4xx)",
    "robots": "robots.txt disallows the URL",
    "not_http": "not an http(s) URL (file:, ftp:, data:, javascript:...): never fetched or stored",
    "internal_address": "the URL is, or resolves to, a loopback, private or otherwise "
    "non-public address other than the source's own: never fetched",
    "host_backoff": "the host answered 429/403 recently and is left alone",
    "empty": "the response body is empty",
    "not_a_feed": "an HTML page was served where a feed was expected",
    "malformed": "the feed, JSON or XML cannot be parsed",
    "charset": "the declared character set is wrong or missing (text recovered)",
    "no_items": "the page parsed but the selectors or mapping found no item",
    "auth": "the API refused the credentials or the token exchange failed",
    "auth_missing": "the environment variable holding the API key is not set",
    "interrupted": "the run was interrupted before this source finished",
    "error": "an unexpected error (see the message)",
}


def http_kind(status: int) -> str:
    if status in (403, 404, 410, 429):
        return f"http_{status}"
    if status >= 500:
        return "http_5xx"
    return "http_4xx"


def classify_failure(failure: Any) -> tuple[str, str, int | None]:
    """(kind, message, http status) of a Twisted failure from a Scrapy errback."""
    from scrapy.exceptions import (
        CannotResolveHostError,
        DownloadCancelledError,
        DownloadConnectionRefusedError,
        DownloadTimeoutError,
        IgnoreRequest,
    )
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as twisted_error
    from twisted.internet.defer import CancelledError

    from watcher.collect.guard import Refused

    value = failure.value
    message = str(value) or type(value).__name__
    if isinstance(value, HttpError):
        status = value.response.status
        return http_kind(status), f"HTTP {status} for {value.response.url}", status
    if isinstance(value, Refused):
        return value.kind, message, None
    if isinstance(value, IgnoreRequest):
        if "DOWNLOAD_MAXSIZE" in message:  # HttpCompressionMiddleware: a compression bomb
            return "too_large", message, None
        if message.startswith("host_backoff"):
            return "host_backoff", message, None
        if "max redirections" in message:  # RedirectMiddleware's REDIRECT_MAX_TIMES
            return "redirect_loop", message, None
        if "robots" in message.lower():
            return "robots", "forbidden by robots.txt", None
        return "error", message, None
    if isinstance(value, CannotResolveHostError | twisted_error.DNSLookupError):
        return "dns", message, None
    if isinstance(
        value, DownloadTimeoutError | twisted_error.TimeoutError | twisted_error.TCPTimedOutError
    ):
        return "timeout", message, None
    if isinstance(value, DownloadCancelledError | CancelledError):
        if "max size" in message.lower() or "larger than" in message.lower() or not str(value):
            return "too_large", message or "response larger than the size limit", None
        return "too_large", message, None
    if isinstance(
        value,
        DownloadConnectionRefusedError
        | twisted_error.ConnectionRefusedError
        | twisted_error.ConnectionLost,
    ):
        return "connection", message, None
    name = type(value).__name__
    if _is_decoding_error(value):
        return "bad_encoding", f"{name}: {message}", None
    if "SSL" in name or "TLS" in name:
        return "tls", message, None
    if "Connection" in name or "ResponseNeverReceived" in name or "DataLoss" in name:
        return "connection", f"{name}: {message}", None
    return "error", f"{name}: {message}", None


def _is_decoding_error(value: BaseException) -> bool:
    """A body that its Content-Encoding does not describe (HttpCompressionMiddleware)."""
    import gzip
    import zlib

    if isinstance(value, gzip.BadGzipFile | zlib.error):
        return True
    # brotli and zstandard are optional decoders: recognised by their module's name.
    return type(value).__module__.split(".")[0].lstrip("_") in ("brotli", "brotlicffi", "zstandard")
