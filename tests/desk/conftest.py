"""The desk served by uvicorn in a thread (127.0.0.1, port 0), and headless Chromium."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import uvicorn

from tests.desk.builder import build_store
from tests.shared import launch_chromium, make_settings
from watcher.desk.accounts import create_user
from watcher.desk.app import create_app, server_options
from watcher.settings import Settings
from watcher.store import Store

USER, PASSWORD = "marie", "motdepasse-solide"
BEFORE_WEEK = datetime(2026, 11, 20, tzinfo=UTC)


@dataclass
class Desk:
    url: str
    store: Store
    settings: Settings
    ids: dict[str, int]


def run_in_thread(app) -> tuple[uvicorn.Server, threading.Thread, int]:  # noqa: ANN001
    config = uvicorn.Config(app, **server_options(host="127.0.0.1", port=0, log_level="warning"))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


@pytest.fixture
def desk_settings(tmp_path) -> Settings:  # noqa: ANN001
    return make_settings(tmp_path)


@contextmanager
def served(app) -> Iterator[str]:  # noqa: ANN001
    """The app on a real uvicorn server (127.0.0.1, ephemeral port): its base URL."""
    server, thread, port = run_in_thread(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def desk(store: Store, desk_settings: Settings) -> Iterator[Desk]:
    ids = build_store(store)
    create_user(store, USER, PASSWORD)
    with served(create_app(store, desk_settings)) as url:
        yield Desk(url, store, desk_settings, ids)


@pytest.fixture(scope="module")  # closed after each module: other folders start their own
def browser():  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def desk_client(app, client: tuple[str, int] = ("127.0.0.1", 50000)):  # noqa: ANN001, ANN201
    """A TestClient of the desk as a local browser reaches it (Host 127.0.0.1)."""
    from starlette.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1", client=client)


def csrf_of(client) -> str:  # noqa: ANN001
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get("/connexion").text).group(1)


def log_in(client, user: str = USER, password: str = PASSWORD, **headers: str):  # noqa: ANN001, ANN201
    """Sign in through the form (a TestClient or an httpx.Client); the client keeps
    the session and its CSRF token (``client.csrf``); returns the response."""
    token = csrf_of(client)
    client.csrf = token
    return client.post(
        "/connexion",
        data={"csrf": token, "username": user, "password": password, "suite": "/"},
        headers=headers,
        follow_redirects=False,
    )


@pytest.fixture
def client(store: Store, desk_settings: Settings):  # noqa: ANN201
    """A signed-in TestClient of the desk over the builder's store (``client.ids``)."""
    ids = build_store(store)
    create_user(store, USER, PASSWORD)
    client = desk_client(create_app(store, desk_settings))
    assert log_in(client).status_code == 303
    client.ids, client.store, client.settings = ids, store, desk_settings
    return client


def sign_in(page, desk: Desk) -> None:  # noqa: ANN001
    page.goto(f"{desk.url}/")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/semaine/**")
