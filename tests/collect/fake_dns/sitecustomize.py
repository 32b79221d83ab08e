"""A fake DNS for the crawl child of a test: ``WATCHER_TEST_HOSTS=name=address,...``.

A test puts this folder on PYTHONPATH, so the child process the crawl runs in (which
inherits the environment) resolves those names to those addresses, through the same
system calls Scrapy's resolver makes; every other name resolves as usual.
"""

import os
import socket

_HOSTS = dict(
    pair.split("=", 1) for pair in os.environ.get("WATCHER_TEST_HOSTS", "").split(",") if pair
)
_gethostbyname = socket.gethostbyname
_getaddrinfo = socket.getaddrinfo


def _gethostbyname_faked(name: str) -> str:
    return _HOSTS.get(name.lower().rstrip(".")) or _gethostbyname(name)


def _getaddrinfo_faked(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    if isinstance(host, str) and host.lower().rstrip(".") in _HOSTS:
        host = _HOSTS[host.lower().rstrip(".")]
    return _getaddrinfo(host, *args, **kwargs)


socket.gethostbyname = _gethostbyname_faked
socket.getaddrinfo = _getaddrinfo_faked
