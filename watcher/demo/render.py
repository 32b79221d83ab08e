"""Render the demo web for one day: feeds, listing pages, articles, API pages, sitemap,
JORF archives and PDFs, as bytes keyed by path.

Feeds, sitemaps and API records carry absolute URLs (as on the web), so the
site is built for one base URL; listing pages and articles link relatively.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from html import escape

from watcher.demo.content import BROKEN, PARIS, DemoItem, DemoSource, fr_date, load_demo
from watcher.demo.pdf import make_pdf

DEMO_API_KEY = "demo-cle-api-aides"  # the demo API's key; not a secret
CARD_SELECTORS = {
    "item": "article.carte",
    "link": "h3 a::attr(href)",
    "title": "h3 a::text",
    "date": "time.publie::attr(datetime)",
    "summary": "p.resume::text",
    "next_page": "a[rel=next]::attr(href)",
    "page_limit": 5,
}
AGENDA_SELECTORS = {
    "item": "div.evenement",
    "link": "h2 a::attr(href)",
    "title": "h2 a::text",
    "date": "time.publie::attr(datetime)",
    "summary": "p.accroche::text",
}
CATALOGUE_SELECTORS = {
    "item": "li.stage",
    "link": "a.intitule::attr(href)",
    "title": "a.intitule::text",
    "date": "span.maj::attr(data-date)",
    "summary": "p::text",
}


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str
    status: int = 200
    modified: datetime | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass
class DemoSite:
    today: date
    base_url: str
    sources: list[DemoSource]
    resources: dict[str, Resource] = field(default_factory=dict)
    api_pages: list[Resource] = field(default_factory=list)
    api_token: str = ""

    def source(self, source_id: str) -> DemoSource:
        return next(s for s in self.sources if s.id == source_id)


_FEED_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def _feed_link(source: DemoSource) -> str:
    """The <link rel="alternate"> a site puts in its pages, so feed discovery finds the feed."""
    if source.kind not in _FEED_TYPES:
        return ""
    return (
        f'<link rel="alternate" type="{_FEED_TYPES[source.kind]}" '
        f'title="{escape(source.name)}" href="{source.path}">\n'
    )


def _page(
    title: str,
    body: str,
    *,
    site: str = "",
    description: str = "",
    published: str = "",
    head: str = "",
) -> bytes:
    meta = head
    if description:
        meta += f'<meta name="description" content="{escape(description)}">\n'
    if published:
        meta += f'<meta property="article:published_time" content="{published}">\n'
    html = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}{" – " + escape(site) if site else ""}</title>
{meta}</head>
<body>
<header><p class="site">{escape(site or "Toile de démonstration")}</p>
<nav><a href="/">Accueil de la démonstration</a></nav></header>
{body}
<footer><p>Site de démonstration de watcher : organisations et textes fictifs.</p></footer>
</body>
</html>
"""
    return html.encode("utf-8")


def _article(source: DemoSource, item: DemoItem) -> Resource:
    iso = item.published.isoformat()
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
    chapo = (
        f'<p class="chapo"><strong>{escape(item.summary)}</strong></p>\n' if item.summary else ""
    )
    body = f"""<main>
<article>
<h1>{escape(item.title)}</h1>
<p class="meta">Publié le <time datetime="{iso}">{fr_date(item.published.date())}</time> par {escape(source.organisation)}</p>
{chapo}{paragraphs}
</article>
<aside><h2>À lire aussi</h2><p><a href="{source.path}">Toutes les publications de {escape(source.name)}</a></p></aside>
</main>"""
    page = _page(
        item.title,
        body,
        site=source.name,
        description=item.summary,
        published=iso,
        head=_feed_link(source),
    )
    return Resource(page, "text/html; charset=utf-8", modified=item.published)


def _newest(items: tuple[DemoItem, ...] | list[DemoItem]) -> list[DemoItem]:
    return sorted(items, key=lambda i: (i.published, i.slug), reverse=True)


def _rss(site: DemoSite, source: DemoSource) -> Resource:
    base = site.base_url
    entries = []
    for item in _newest(source.items):
        link = escape(base + item.link)
        entries.append(
            f"""  <item>
    <title>{escape(item.title)}</title>
    <link>{link}</link>
    <guid isPermaLink="false">{source.id}-{item.slug}</guid>
    <pubDate>{format_datetime(item.published)}</pubDate>
    <description>{escape(item.summary)}</description>
  </item>"""
        )
    newest = _newest(source.items)[0].published
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
  <title>{escape(source.name)}</title>
  <link>{escape(base + source.path)}</link>
  <description>{escape(source.organisation)} – flux de démonstration</description>
  <language>fr</language>
  <lastBuildDate>{format_datetime(newest)}</lastBuildDate>
{chr(10).join(entries)}
</channel>
</rss>
"""
    return Resource(xml.encode("utf-8"), "application/rss+xml; charset=utf-8", modified=newest)


def _atom(site: DemoSite, source: DemoSource) -> Resource:
    base = site.base_url
    newest = _newest(source.items)[0].published
    entries = []
    for item in _newest(source.items):
        entries.append(
            f"""  <entry>
    <title>{escape(item.title)}</title>
    <link rel="alternate" type="text/html" href="{escape(base + item.link)}"/>
    <id>urn:demo:{source.id}:{item.slug}</id>
    <published>{item.published.isoformat()}</published>
    <updated>{item.published.isoformat()}</updated>
    <summary>{escape(item.summary)}</summary>
  </entry>"""
        )
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
  <title>{escape(source.name)}</title>
  <id>urn:demo:{source.id}</id>
  <link rel="self" href="{escape(base + source.path)}"/>
  <updated>{newest.isoformat()}</updated>
  <author><name>{escape(source.organisation)}</name></author>
{chr(10).join(entries)}
</feed>
"""
    return Resource(xml.encode("utf-8"), "application/atom+xml; charset=utf-8", modified=newest)


def _listing_entry(source: DemoSource, item: DemoItem) -> str:
    day = item.published.date()
    if source.id == "demo-formations":
        session = (
            f' <span class="session">Session du {fr_date(item.event)}</span>' if item.event else ""
        )
        return (
            f'<li class="stage"><a class="intitule" href="{item.path}">{escape(item.title)}</a>{session}'
            f' <span class="maj" data-date="{day.isoformat()}">mis à jour le {fr_date(day)}</span>'
            f"<p>{escape(item.summary)}</p></li>"
        )
    if source.id == "demo-agenda":
        when = f'<p class="quand">{fr_date(item.event, weekday=True)}</p>' if item.event else ""
        return (
            f'<div class="evenement"><h2><a href="{item.path}">{escape(item.title)}</a></h2>{when}'
            f'<p class="accroche">{escape(item.summary)}</p>'
            f'<p class="meta">Annoncé le <time class="publie" datetime="{day.isoformat()}">{fr_date(day)}</time></p></div>'
        )
    return (
        f'<article class="carte"><h3><a href="{item.path}">{escape(item.title)}</a></h3>'
        f'<p class="meta">Publié le <time class="publie" datetime="{day.isoformat()}">{fr_date(day)}</time></p>'
        f'<p class="resume">{escape(item.summary)}</p></article>'
    )


def _listings(source: DemoSource) -> dict[str, Resource]:
    items = _newest(source.items)
    size = int(source.options.get("per_page") or len(items))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    pages: dict[str, Resource] = {}
    for number, chunk in enumerate(chunks, start=1):
        path = source.path if number == 1 else f"{source.path}page/{number}/"
        entries = "\n".join(_listing_entry(source, item) for item in chunk)
        if source.id == "demo-formations":
            entries = f'<ul class="catalogue">\n{entries}\n</ul>'
        nav = ""
        if number < len(chunks):
            nav = f'<nav class="pagination"><a rel="next" href="{source.path}page/{number + 1}/">Page suivante</a></nav>'
        body = f"<main>\n<h1>{escape(source.name)}</h1>\n{entries}\n{nav}\n</main>"
        page = _page(source.name, body, site=source.organisation)
        pages[path] = Resource(page, "text/html; charset=utf-8", modified=chunk[0].published)
    return pages


def _api(site: DemoSite, source: DemoSource) -> list[Resource]:
    items = _newest(source.items)
    size = int(source.options.get("page_size", 10))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    url = site.base_url + source.path
    ids = {item.slug: 152001 + n for n, item in enumerate(source.items)}  # stable record ids
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        results = [
            {
                "id": ids[item.slug],
                "slug": item.slug,
                "url": site.base_url + item.path,
                "name": item.title,
                "description": item.summary,
                "financers": [item.extra.get("financer", "")],
                "submission_deadline": item.deadline.isoformat() if item.deadline else None,
                "date_created": item.published.astimezone(UTC).isoformat(),
                "is_live": True,
            }
            for item in chunk
        ]
        data = {
            "count": len(items),
            "next": f"{url}?page={number + 1}" if number < len(chunks) else None,
            "previous": f"{url}?page={number - 1}" if number > 1 else None,
            "results": results,
        }
        body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
        pages.append(Resource(body, "application/json", modified=chunk[0].published))
    return pages


def _sitemap(site: DemoSite, source: DemoSource) -> dict[str, Resource]:
    root = source.path.rsplit("/", 1)[0] + "/"
    out: dict[str, Resource] = {}
    urls = []
    for page in source.options.get("pages", []):
        path = f"{root}{page['slug']}/"
        body = f"<main>\n<article>\n<h1>{escape(page['title'])}</h1>\n<p>{escape(' '.join(page['body'].split()))}</p>\n</article>\n</main>"
        out[path] = Resource(
            _page(page["title"], body, site=source.name), "text/html; charset=utf-8"
        )
        urls.append(f"  <url><loc>{site.base_url}{path}</loc></url>")
    for item in _newest(source.items):
        urls.append(
            f"  <url><loc>{site.base_url}{item.path}</loc><lastmod>{item.published.date().isoformat()}</lastmod></url>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(urls)
        + "\n</urlset>\n"
    )
    out[source.path] = Resource(
        xml.encode("utf-8"), "application/xml", modified=_newest(source.items)[0].published
    )
    return out


def _jorf_text_xml(item: DemoItem) -> bytes:
    e = item.extra
    notice = (
        f"<NOTICE><CONTENU><p>{escape(e['notice'])}</p></CONTENU></NOTICE>\n" if e["notice"] else ""
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<TEXTE_VERSION>
<META>
<META_COMMUN><ID>{e["id"]}</ID><ANCIEN_ID/><ORIGINE>JORF</ORIGINE><NATURE>{e["nature"]}</NATURE></META_COMMUN>
<META_SPEC>
<META_TEXTE_CHRONICLE><CID>{e["id"]}</CID><NUM/><NOR>{e["nor"]}</NOR><DATE_PUBLI>{item.published.date().isoformat()}</DATE_PUBLI><DATE_TEXTE>{e["text_date"]}</DATE_TEXTE></META_TEXTE_CHRONICLE>
<META_TEXTE_VERSION><TITRE>{escape(item.title)}</TITRE><TITREFULL>{escape(item.title)}</TITREFULL><MINISTERE>{escape(e["ministry"])}</MINISTERE></META_TEXTE_VERSION>
</META_SPEC>
</META>
{notice}<VISAS><CONTENU><p>Sur le rapport du ministre compétent,</p>
<p>Vu le code de l'environnement ;</p></CONTENU></VISAS>
<SIGNATAIRES><CONTENU><p>Fait le {fr_date(date.fromisoformat(e["text_date"]))}.</p></CONTENU></SIGNATAIRES>
</TEXTE_VERSION>
"""
    return xml.encode("utf-8")


def _jorf_article_xml(item: DemoItem, number: int, text: str) -> tuple[str, bytes]:
    article_id = item.extra["id"].replace("JORFTEXT", "JORFARTI")[:-1] + str(number)
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<ARTICLE>
<META>
<META_COMMUN><ID>{article_id}</ID><ORIGINE>JORF</ORIGINE><NATURE>Article</NATURE></META_COMMUN>
<META_SPEC><META_ARTICLE><NUM>{number}</NUM><ETAT>VIGUEUR</ETAT></META_ARTICLE></META_SPEC>
</META>
<CONTEXTE><TEXTE cid="{item.extra["id"]}" nature="{item.extra["nature"]}"/></CONTEXTE>
<BLOC_TEXTUEL><CONTENU><p>{escape(text)}</p></CONTENU></BLOC_TEXTUEL>
</ARTICLE>
"""
    return article_id, xml.encode("utf-8")


def _split_id(identifier: str) -> str:
    digits = identifier[-12:]
    return "/".join(digits[i : i + 2] for i in range(0, 10, 2))


def _tar_gz(files: list[tuple[str, bytes]], mtime: datetime) -> bytes:
    raw = io.BytesIO()
    stamp = int(mtime.timestamp())
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), stamp, 0o644
            archive.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=stamp) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


_MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # noqa: SIM905


def _listing_date(moment: datetime) -> str:
    # An Apache-style index date, independent of the machine's locale.
    return f"{moment:%d}-{_MONTHS_EN[moment.month - 1]}-{moment:%Y %H:%M}"


def _jorf(site: DemoSite, source: DemoSource) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    listing = []
    for index, archive in enumerate(source.options["archives"]):
        day = site.today - timedelta(days=int(archive["ago"]))
        stamp = f"{day:%Y%m%d}-{archive['time']}"
        name = f"JORF_{stamp}.tar.gz"
        created = datetime.combine(day, time(1, 30), tzinfo=PARIS)
        files = []
        for item in (i for i in source.items if i.extra["archive"] == index):
            folder = f"{stamp}/jorf/global"
            files.append(
                (
                    f"{folder}/texte/version/JORF/TEXT/{_split_id(item.extra['id'])}/{item.extra['id']}.xml",
                    _jorf_text_xml(item),
                )
            )
            for number, text in enumerate(item.paragraphs, start=1):
                article_id, xml = _jorf_article_xml(item, number, text)
                files.append(
                    (f"{folder}/article/JORF/ARTI/{_split_id(article_id)}/{article_id}.xml", xml)
                )
        body = _tar_gz(files, created)
        out[source.path + name] = Resource(body, "application/gzip", modified=created)
        listing.append((name, created, len(body)))
    rows = "\n".join(
        f'<a href="{name}">{name}</a>{" " * (40 - len(name))}{_listing_date(created)}  {size}'
        for name, created, size in sorted(listing)
    )
    html = f"""<html>
<head><title>Index of /OPENDATA/JORF/</title></head>
<body>
<h1>Index of /OPENDATA/JORF/</h1><hr><pre><a href="../">../</a>
{rows}
</pre><hr></body>
</html>
"""
    out[source.path] = Resource(
        html.encode("utf-8"), "text/html", modified=max(c for _, c, _ in listing)
    )
    return out


def _home(site: DemoSite) -> Resource:
    rows = "\n".join(
        f'<li><a href="{s.path}">{escape(s.name)}</a> ({s.kind}, {len(s.items)} éléments)</li>'
        for s in site.sources
    )
    broken = "\n".join(f"<li>{escape(b.name)} : {escape(b.reason)}</li>" for b in BROKEN)
    body = f"""<main>
<h1>Toile de démonstration de watcher</h1>
<p>Sources fictives servies en local pour la démonstration ({fr_date(site.today)}).</p>
<ul>
{rows}
</ul>
<h2>Sources en panne (volontairement)</h2>
<ul>
{broken}
</ul>
</main>"""
    feeds = "".join(_feed_link(s) for s in site.sources)
    return Resource(_page("Toile de démonstration", body, head=feeds), "text/html; charset=utf-8")


_BROKEN_FEED = b"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Maintenance</title></head>
<body><h1>Site en maintenance</h1><p>Le portail sera de nouveau disponible prochainement.</p></body></html>
"""


def build_site(today: date, base_url: str) -> DemoSite:
    """Every resource of the demo web for `today`, linking to `base_url`."""
    site = DemoSite(today=today, base_url=base_url.rstrip("/"), sources=load_demo(today))
    res = site.resources
    for source in site.sources:
        if source.kind == "rss":
            res[source.path] = _rss(site, source)
        elif source.kind == "atom":
            res[source.path] = _atom(site, source)
        elif source.kind == "html":
            res.update(_listings(source))
        elif source.kind == "sitemap":
            res.update(_sitemap(site, source))
        elif source.kind == "jorf":
            res.update(_jorf(site, source))
            continue  # its links go to Légifrance, which the demo never fetches
        elif source.kind == "api":
            site.api_pages = _api(site, source)
        for item in source.items:
            if not item.paragraphs:
                continue  # an entry that points to another source's page
            if item.path.endswith(".pdf"):
                stamp = item.published.strftime("%Y%m%d%H%M%S")
                res[item.path] = Resource(
                    make_pdf(item.title, item.paragraphs, date=stamp),
                    "application/pdf",
                    modified=item.published,
                )
            else:
                res[item.path] = _article(source, item)
    res["/"] = _home(site)
    res["/robots.txt"] = Resource(
        f"User-agent: *\nDisallow: /prive/\n\nSitemap: {site.base_url}/eit-valmoselle/sitemap.xml\n".encode(),
        "text/plain; charset=utf-8",
    )
    for broken in BROKEN:
        if broken.status == 200:
            res[broken.path] = Resource(_BROKEN_FEED, "application/rss+xml; charset=utf-8")
    site.api_token = (
        "demo-jeton-" + hashlib.sha1(f"{DEMO_API_KEY}{today}".encode()).hexdigest()[:24]
    )
    return site
