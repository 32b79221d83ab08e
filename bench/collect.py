"""Benchmark of the collect stage against a local web with network-like latency.

100 RSS feeds of 20 entries, each entry linking an article page of about 800
words (2,000 pages), spread over 20 loopback addresses (127.0.0.2 to
127.0.0.21, so per-host politeness applies as on the web), every response
delayed by 50 ms. Prints, from one run:

- first collect: wall time, items per second, peak memory of the crawl process;
- second collect with nothing changed: wall time and its ratio to the first
  (target: at most 0.05);
- a baseline in the same run: a plain sequential loop of feedparser.parse(url)
  then trafilatura.fetch_url + extract over the same feeds and pages, and the
  ratio first collect / baseline (target: at most 0.3);
- peak memory of the crawl process (target: at most 600 MB).

Usage: ``python bench/collect.py [--feeds 100] [--entries 20] [--skip-baseline]``.
The crawl uses the default settings except those in BENCH_SETTINGS (printed).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HOSTS = [f"127.0.0.{i}" for i in range(2, 22)]
LATENCY_S = 0.05
# Politeness delays sized for the real web would make a loopback bench measure sleep();
# these keep per-host concurrency (2) and AutoThrottle on, with a short start delay.
BENCH_SETTINGS = {
    "download_delay_s": 0.0,
    "autothrottle_start_delay_s": 0.05,
    "autothrottle_target_concurrency": 2.0,
    "concurrent_requests": 40,
    "crawl_time_limit_s": 1800,
}
VOCABULARY = [
    "écologie",
    "industrielle",
    "territoriale",
    "synergie",
    "entreprise",
    "flux",
    "matière",
    "énergie",
    "chaleur",
    "fatale",
    "réseau",
    "eau",
    "réutilisation",
    "déchet",
    "ressource",
    "recyclage",
    "réemploi",
    "mutualisation",
    "achat",
    "logistique",
    "transport",
    "zone",
    "activité",
    "collectivité",
    "région",
    "grand",
    "est",
    "alsace",
    "lorraine",
    "champagne",
    "ardenne",
    "appel",
    "projet",
    "financement",
    "ademe",
    "décarbonation",
    "biomasse",
    "méthanisation",
    "bâtiment",
    "matériaux",
    "démarche",
    "animateur",
    "territoire",
    "étude",
    "guide",
    "indicateur",
    "observatoire",
    "le",
    "la",
    "les",
    "un",
    "une",
    "des",
    "du",
    "de",
    "et",
    "à",
    "pour",
    "avec",
    "dans",
    "sur",
    "par",
    "au",
    "aux",
    "en",
    "qui",
    "que",
    "leur",
    "leurs",
]


def article_html(title: str, seed: int, words: int = 800) -> bytes:
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(VOCABULARY) for _ in range(80)) + ".</p>"
        for _ in range(words // 80)
    )
    return (
        f"<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='date' content='2026-11-{1 + seed % 27:02d}'></head><body>"
        "<header><nav><a href='/'>Accueil</a> <a href='/actualites'>Actualités</a></nav></header>"
        f"<main><article><h1>{title}</h1>{paragraphs}</article></main>"
        "<footer><p>Mentions légales - Plan du site - Contact</p></footer></body></html>"
    ).encode()


def feed_xml(host: str, port: int, feed: int, entries: int) -> bytes:
    items = "".join(
        f"<item><title>Actualité {feed}-{i}</title>"
        f"<link>http://{host}:{port}/articles/{feed}/{i}.html?utm_source=rss</link>"
        f"<description>Résumé de l'actualité {feed}-{i}</description>"
        f"<pubDate>Mon, {1 + i % 27:02d} Nov 2026 10:00:00 +0100</pubDate></item>"
        for i in range(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Flux {feed}</title><link>http://{host}:{port}/</link>"
        f"<description>Flux de test {feed}</description>{items}</channel></rss>"
    ).encode()


def serve(feeds: int, entries: int, ports: multiprocessing.Queue) -> None:
    """The local web, in its own process: one threaded server per loopback address."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(LATENCY_S)
            host, port = self.server.server_address[:2]
            path = self.path.split("?")[0]
            body, ctype, etag = None, "text/html; charset=utf-8", None
            if path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            elif path.startswith("/feeds/"):
                feed = int(path.rsplit("/", 1)[1].split(".")[0])
                body, ctype = feed_xml(host, port, feed, entries), "application/rss+xml"
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            elif path.startswith("/articles/"):
                _, _, feed, page = path.split("/")
                seed = int(feed) * 1000 + int(page.split(".")[0])
                body = article_html(f"Actualité {feed}-{page.split('.')[0]}", seed)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    addresses = {}
    for host in HOSTS:
        server = Server((host, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        addresses[host] = server.server_address[1]
    ports.put(addresses)
    while True:
        time.sleep(3600)


def feed_urls(addresses: dict[str, int], feeds: int) -> list[str]:
    return [
        f"http://{HOSTS[n % len(HOSTS)]}:{addresses[HOSTS[n % len(HOSTS)]]}/feeds/{n}.xml"
        for n in range(feeds)
    ]


def baseline(urls: list[str]) -> tuple[float, int]:
    from copy import deepcopy

    import feedparser
    import trafilatura
    from trafilatura.settings import DEFAULT_CONFIG

    # trafilatura refuses non-public addresses by default; the local web is on loopback.
    config = deepcopy(DEFAULT_CONFIG)
    config["DEFAULT"]["SSRF_PROTECTION"] = "off"
    start = time.perf_counter()
    count = 0
    for url in urls:
        parsed = feedparser.parse(url)
        for entry in parsed.entries:
            html = trafilatura.fetch_url(entry.link, config=config)
            if html and trafilatura.extract(html):
                count += 1
    return time.perf_counter() - start, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    from watcher.collect import run_collect
    from watcher.config import parse_sources
    from watcher.settings import CollectSettings, Settings
    from watcher.store import Store
    from watcher.store.items import count_items

    ports: multiprocessing.Queue = multiprocessing.Queue()
    web = multiprocessing.Process(target=serve, args=(args.feeds, args.entries, ports), daemon=True)
    web.start()
    addresses = ports.get(timeout=30)
    urls = feed_urls(addresses, args.feeds)
    sources = parse_sources(
        "sources:\n"
        + "".join(
            f"  - {{id: feed-{n}, name: Flux {n}, kind: rss, url: '{url}'}}\n"
            for n, url in enumerate(urls)
        )
    )
    settings = Settings(collect=CollectSettings(**BENCH_SETTINGS))
    expected = args.feeds * args.entries
    print(f"local web: {args.feeds} feeds x {args.entries} entries = {expected} article pages")
    print(
        f"on {len(HOSTS)} addresses {HOSTS[0]}..{HOSTS[-1]}, {LATENCY_S * 1000:.0f} ms per response"
    )
    print(f"crawl settings changed from the defaults: {BENCH_SETTINGS}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        first = run_collect(sources, db=store, settings=settings, trigger="bench")
        first_s = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        first_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        peak_mb = after.ru_maxrss / 1024
        stored = count_items(store)
        failed = [s.source_id for s in first.failed]
        start = time.perf_counter()
        second = run_collect(sources, db=store, settings=settings, trigger="bench")
        second_s = time.perf_counter() - start
        final = resource.getrusage(resource.RUSAGE_CHILDREN)
        second_cpu = (final.ru_utime + final.ru_stime) - (after.ru_utime + after.ru_stime)
        unchanged = sum(1 for s in second.sources if s.status == "not_modified")
        new_second = sum(s.items_new for s in second.sources)
        store.close()

    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (the times below are wall times)"
    )
    print(
        f"first collect:  {first_s:7.2f} s  {stored} items stored ({stored / first_s:.1f} items/s), "
        f"crawl process CPU {first_cpu:.1f} s"
    )
    if failed:
        print(f"  failed sources: {failed}")
    print(f"  peak memory of the crawl process: {peak_mb:.0f} MB (target <= 600 MB)")
    ratio = second_s / first_s
    print(
        f"second collect: {second_s:7.2f} s  {unchanged}/{args.feeds} feeds unchanged, "
        f"{new_second} new items; second/first = {ratio:.3f} (target <= 0.05), "
        f"crawl process CPU {second_cpu:.1f} s"
    )
    if not args.skip_baseline:
        base_s, base_count = baseline(urls)
        print(
            f"baseline (sequential feedparser.parse + trafilatura.fetch_url/extract): "
            f"{base_s:7.2f} s for {base_count} pages"
        )
        print(f"first collect / baseline = {first_s / base_s:.3f} (target <= 0.3)")
    web.terminate()
    ok = stored == expected and not failed and new_second == 0
    print("result:", "complete" if ok else "INCOMPLETE (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
