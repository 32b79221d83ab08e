"""Canonical URL rules (watcher/urls.py)."""

import pytest

from watcher.urls import canonical_url, host_of


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HTTP://WWW.Example.ORG/Page", "http://www.example.org/Page"),  # path case kept
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://example.org/a#section-2", "https://example.org/a"),
        ("https://example.org/a?utm_source=rss&utm_medium=feed&id=3", "https://example.org/a?id=3"),
        (
            "https://example.org/a?fbclid=x&gclid=y&mc_cid=1&mc_eid=2&xtor=RSS-1",
            "https://example.org/a",
        ),
        ("https://example.org/a?b=2&a=1&a=0", "https://example.org/a?a=0&a=1&b=2"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/dossier/", "https://example.org/dossier/"),  # trailing slash kept
        ("https://example.org/%7euser", "https://example.org/~user"),
        ("https://example.org/caf%c3%a9", "https://example.org/caf%C3%A9"),
        ("  https://example.org/a?q=  ", "https://example.org/a?q="),
        ("https://ÉCOLOGIE.example/a", "https://xn--cologie-9xa.example/a"),
    ],
)
def test_canonical_url(given: str, expected: str) -> None:
    assert canonical_url(given) == expected


def test_canonical_url_is_idempotent() -> None:
    url = "HTTPS://Example.org:443/a/b/?z=1&utm_campaign=x&a=%7e#top"
    once = canonical_url(url)
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    "given",
    ["http://[::1/a", "http://example.org:99999/a", "http://example.org:abc/a", "http://[zzz]/"],
)
def test_a_url_that_cannot_be_parsed_is_kept_as_written(given: str) -> None:
    # It raised ValueError (a whole sitemap failed with it), or lost its port and
    # took the identity of another page.
    assert canonical_url(f"  {given} ") == given


def test_an_ipv6_host_keeps_its_brackets() -> None:
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonical_url("HTTP://[2001:DB8::1]/a") == "http://[2001:db8::1]/a"


def test_host_of_a_url_that_cannot_be_parsed_is_empty() -> None:
    # host_of raised in the crawl's start: every source of the crawl was interrupted.
    assert host_of("http://[::1/feed.xml") == ""
    assert host_of("http://Example.org:99999/feed") == "example.org"
