"""api: JSON pages read through the source's field mapping (dotted paths).

Pagination styles: ``page`` (a page number parameter), ``offset`` (an offset
parameter stepped by the page size), ``next_url`` (a field of the response
gives the next page). Authentication: a key in a header or a query parameter,
read from the environment variable named in the sources file; two portals
have their own adapter:

- ``aides_territoires``: the key is sent as ``X-AUTH-TOKEN`` to
  ``/api/connexion/`` (or ``token_url``), which answers ``{"token": ...}``; the
  token is then sent as ``Authorization: Bearer <token>`` and kept in the store
  for ``token_lifetime_h`` hours (the portal's tokens last 24 h);
- ``eu_funding_tenders``: the public key goes in the ``apiKey`` query
  parameter (``SEDIA``, the portal's public key, when the variable is unset).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Response

from watcher.collect.guard import origin_of
from watcher.collect.kinds.common import dotted, join_url, parse_date, plain_text
from watcher.models import CollectedItem
from watcher.store import crawl_state as state

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider

EU_PUBLIC_KEY = "SEDIA"
_ITEM_FIELDS = {"url", "title", "summary", "text", "published", "language"}


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    api = run.source.api
    auth = api.auth
    if (
        auth is not None
        and auth.style in ("header", "query", "aides_territoires")
        and not auth.secret()
    ):
        run.fail(
            "auth_missing",
            f"environment variable {auth.key_env} is not set; it must hold the API key",
        )
        return []
    if auth is not None and auth.style == "aides_territoires":
        token = state.get_token(spider.store, run.source.id)
        if token is None:
            return [_token_request(spider, run)]
        run.token = token
    return [_page_request(spider, run, 0, None)]


def _multipart_json(fields: dict[str, Any], boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="blob"\r\n'
            "Content-Type: application/json\r\n\r\n"
            f"{json.dumps(value)}\r\n"
        )
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8")


def _token_request(spider: WatchSpider, run: SourceRun) -> Request:
    auth = run.source.api.auth
    url = auth.token_url or urljoin(run.source.url, "/api/connexion/")
    return spider.request(
        run,
        url,
        lambda response, run: _on_token(spider, response, run),
        main=True,
        method="POST",
        headers={"X-AUTH-TOKEN": auth.secret() or "", "Accept": "application/json"},
        on_error=_token_refused,
        priority=10,
    )


def _token_refused(request: Request, run: SourceRun, kind: str, message: str) -> list[Request]:
    run.error_kind = "auth"
    run.error_message = f"the token exchange at {request.url} failed ({kind}): {message}"
    return []


def _on_token(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    try:
        token = json.loads(response.body).get("token")
    except (ValueError, AttributeError):
        token = None
    if not token or not isinstance(token, str):
        run.fail("auth", f"the token exchange at {response.url} gave no token", response.status)
        return []
    state.save_token(
        spider.store, run.source.id, token, timedelta(hours=spider.collect.token_lifetime_h)
    )
    run.token = token
    return [_page_request(spider, run, 0, None)]


def _with_query(url: str, params: dict[str, Any]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _page_request(spider: WatchSpider, run: SourceRun, index: int, next_url: str | None) -> Request:
    api = run.source.api
    pagination = api.pagination
    params: dict[str, Any] = dict(api.params)
    headers = {"Accept": "application/json"}
    if pagination.size_param:
        params[pagination.size_param] = pagination.size
    if pagination.style == "page":
        params[pagination.param] = pagination.start + index
    elif pagination.style == "offset":
        params[pagination.param] = index * pagination.size
    auth = api.auth
    if next_url is not None and origin_of(next_url) != origin_of(run.source.url):
        # A next page the API's answer names on another host gets no credentials: the
        # key (or bearer token) went to whatever host the JSON named.
        auth = None
    if auth is not None:
        secret = auth.secret()
        if auth.style == "header":
            value = secret or ""
            if auth.header.lower() == "authorization" and " " not in value:
                value = f"Bearer {value}"
            headers[auth.header] = value
        elif auth.style == "query":
            params[auth.param] = secret
        elif auth.style == "eu_funding_tenders":
            params[auth.param or "apiKey"] = secret or EU_PUBLIC_KEY
        elif auth.style == "aides_territoires":
            headers["Authorization"] = f"Bearer {run.token or ''}"
    url = next_url or _with_query(run.source.url, params)
    body = None
    if api.method == "POST" and api.body is not None:
        if auth is not None and auth.style == "eu_funding_tenders":
            # The portal's search API takes its query, sort and languages as multipart
            # parts holding JSON (what its own web page sends).
            boundary = "watcher-" + uuid.uuid4().hex
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            body = _multipart_json(api.body, boundary)
        else:
            headers["Content-Type"] = "application/json"
            body = json.dumps(api.body)
    return spider.request(
        run,
        url,
        lambda response, run: parse(spider, response, run),
        main=index == 0,
        method=api.method,
        headers=headers,
        body=body,
        meta={"page_index": index},
        on_error=lambda request, run, kind, message: _on_error(spider, request, run, kind),
        priority=10,
    )


def _on_error(spider: WatchSpider, request: Request, run: SourceRun, kind: str) -> list[Request]:
    auth = run.source.api.auth
    if (
        auth is not None
        and auth.style == "aides_territoires"
        and kind == "http_4xx"
        and request.meta.get("page_index") == 0
        and not run.token_retried
    ):
        # The stored token expired early: exchange the key again, once.
        state.forget_token(spider.store, run.source.id)
        run.token_retried = True
        run.status, run.error_kind, run.error_message = "ok", None, None
        return [_token_request(spider, run)]
    return []


def record_to_item(source_id: str, base_url: str, record: dict[str, Any], fields: dict[str, str]):  # noqa: ANN201
    """One JSON record to a CollectedItem (None without a URL); unmapped fields go to extra."""
    values = {name: dotted(record, path) for name, path in fields.items()}
    url = values.get("url")
    if not url or not isinstance(url, str):
        return None
    extra: dict[str, Any] = {}
    for name, value in values.items():
        if name in _ITEM_FIELDS or value is None:
            continue
        if name == "deadline":
            parsed = parse_date(value)
            extra["deadline"] = parsed.date().isoformat() if parsed else str(value)
        elif name == "id":
            extra["api_id"] = str(value)
        else:
            extra[name] = value
    return CollectedItem(
        source_id=source_id,
        url=join_url(base_url, url.strip()),
        title=plain_text(values.get("title"), 1000),
        summary=plain_text(values.get("summary"), 5000),
        text=plain_text(values.get("text"), 100_000),
        language=(values.get("language") or None),
        published=parse_date(values.get("published")),
        extra=extra,
    )


def parse(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    index = response.meta.get("page_index", 0)
    if index == 0 and not spider.begin_main(response, run):
        return []
    api = run.source.api
    try:
        data = json.loads(response.body)
    except ValueError as exc:
        if index == 0:
            run.fail("malformed", f"not JSON: {exc}", response.status)
        return []
    records = dotted(data, api.items_path)
    if not isinstance(records, list):
        if index == 0:
            run.fail("no_items", f"no list at '{api.items_path or '(root)'}'", response.status)
        return []
    requests: list[Request] = []
    items = [
        item
        for record in records
        if isinstance(record, dict)
        and (item := record_to_item(run.source.id, response.url, record, api.fields)) is not None
    ]
    spider.look_up_known(run, items)
    for item in items:
        # An API record carrying its own text needs no page fetch.
        requests += spider.take(run, item, fetch=run.source.fetch_article and not item.text)
    pagination = api.pagination
    if not records or index + 1 >= pagination.max_pages:
        return requests
    if pagination.style in ("page", "offset"):
        if pagination.size_param and len(records) < pagination.size:
            return requests
        requests.append(_page_request(spider, run, index + 1, None))
    elif pagination.style == "next_url" and pagination.next_field:
        next_url = dotted(data, pagination.next_field)
        if isinstance(next_url, str) and next_url.strip():
            next_url = join_url(response, next_url.strip())
            if spider.admissible(run, next_url):
                requests.append(_page_request(spider, run, index + 1, next_url))
    return requests
