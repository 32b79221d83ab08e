"""jorf: French regulation from the Journal officiel, through DILA's open data.

``https://echanges.dila.gouv.fr/OPENDATA/JORF/`` lists one or two archives a day,
``JORF_YYYYMMDD-HHMMSS.tar.gz``. Only archives not taken before are downloaded
(the names taken are kept in ``seen_marks``; a first run takes the latest
``jorf.max_archives``). Inside, each text is a ``TEXTE_VERSION`` XML file::

    TEXTE_VERSION/META/META_COMMUN/{ID, NATURE}
    TEXTE_VERSION/META/META_SPEC/META_TEXTE_CHRONICLE/{CID, NUM, NOR, DATE_PUBLI, DATE_TEXTE}
    TEXTE_VERSION/META/META_SPEC/META_TEXTE_VERSION/{TITRE, TITREFULL}
    TEXTE_VERSION/{VISAS, SIGNATAIRES, NOTICE}/CONTENU

and its articles are ``ARTICLE`` files (``CONTEXTE/TEXTE/@cid`` names the text,
``BLOC_TEXTUEL/CONTENU`` holds the article). Each text becomes one item linked
to ``https://www.legifrance.gouv.fr/jorf/id/<JORFTEXT id>``, with NOR, nature,
number and dates in ``extra``. Légifrance itself has no feed and refuses scripts.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lxml import etree
from scrapy import Request
from scrapy.http import Response

from watcher.collect.kinds.common import plain_text
from watcher.models import CollectedItem
from watcher.store import crawl_state as state

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider

ARCHIVE = re.compile(r"JORF_(\d{8})-(\d{6})\.tar\.gz$")
LEGIFRANCE = "https://www.legifrance.gouv.fr/jorf/id/{id}"
MAX_MEMBER_BYTES = 5 * 1024 * 1024
MAX_NEW_ARCHIVES = 60
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)


@dataclass
class JorfText:
    id: str
    nature: str = ""
    nor: str = ""
    num: str = ""
    title: str = ""
    date_publi: str = ""
    date_texte: str = ""
    notice: str = ""
    visas: str = ""
    signatures: str = ""
    articles: list[tuple[str, str]] = field(default_factory=list)  # (number, text)


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    return [
        spider.request(
            run,
            run.source.url,
            lambda response, run: parse_index(spider, response, run),
            main=True,
            conditional=True,
            priority=10,
        )
    ]


def archive_names(response: Response) -> list[str]:
    hrefs = response.css("a::attr(href)").getall() if hasattr(response, "css") else []
    names = {href.rsplit("/", 1)[-1] for href in hrefs if ARCHIVE.search(href)}
    if not names:  # a plain-text index
        names = set(re.findall(rb"JORF_\d{8}-\d{6}\.tar\.gz", response.body))
        names = {n.decode() for n in names}
    return sorted(names)


def parse_index(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    if not spider.begin_main(response, run):
        return []
    names = archive_names(response)
    if not names:
        run.fail("no_items", f"no JORF_*.tar.gz archive listed at {response.url}", response.status)
        return []
    taken = state.marks(spider.store, run.source.id)
    options = run.source.jorf
    if taken:
        # Archives older than the first one taken were left out on purpose by the first run.
        names = [n for n in names if n not in taken and n > min(taken)]
    else:
        names = names[-(options.max_archives if options else 4) :]
    new = names[-MAX_NEW_ARCHIVES:]
    base = response.url if response.url.endswith("/") else response.url + "/"
    return [
        spider.request(
            run,
            response.urljoin(base + name),
            lambda response, run: parse_archive(spider, response, run),
            meta={"archive": name},
            priority=5,
        )
        for name in new
    ]


def _text(node: Any, path: str) -> str:
    found = node.find(path)
    if found is None:
        return ""
    return " ".join(" ".join(found.itertext()).split())


def read_archive(body: bytes) -> list[JorfText]:
    """The texts of one JORF archive (bytes of a .tar.gz), articles attached to their text."""
    texts: dict[str, JorfText] = {}
    articles: dict[str, list[tuple[str, str, str]]] = {}
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        for member in archive:
            if (
                not member.isfile()
                or not member.name.endswith(".xml")
                or member.size > MAX_MEMBER_BYTES
            ):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            try:
                root = etree.fromstring(handle.read(), _PARSER)
            except etree.XMLSyntaxError:
                continue
            if root is None:
                continue
            if root.tag == "TEXTE_VERSION":
                text_id = _text(root, "META/META_COMMUN/ID")
                if not text_id:
                    continue
                chronicle = "META/META_SPEC/META_TEXTE_CHRONICLE/"
                version = "META/META_SPEC/META_TEXTE_VERSION/"
                texts[text_id] = JorfText(
                    id=text_id,
                    nature=_text(root, "META/META_COMMUN/NATURE"),
                    nor=_text(root, chronicle + "NOR"),
                    num=_text(root, chronicle + "NUM"),
                    date_publi=_text(root, chronicle + "DATE_PUBLI"),
                    date_texte=_text(root, chronicle + "DATE_TEXTE"),
                    title=_text(root, version + "TITREFULL") or _text(root, version + "TITRE"),
                    notice=_text(root, "NOTICE/CONTENU"),
                    visas=_text(root, "VISAS/CONTENU"),
                    signatures=_text(root, "SIGNATAIRES/CONTENU"),
                )
            elif root.tag == "ARTICLE":
                context = root.find("CONTEXTE/TEXTE")
                cid = context.get("cid") if context is not None else None
                if cid:
                    articles.setdefault(cid, []).append(
                        (
                            _text(root, "META/META_SPEC/META_ARTICLE/NUM"),
                            _text(root, "BLOC_TEXTUEL/CONTENU"),
                            _text(root, "META/META_COMMUN/ID"),
                        )
                    )
    for cid, found in articles.items():
        if cid in texts:
            texts[cid].articles = [
                (num, body) for num, body, _id in sorted(found, key=lambda a: a[2])
            ]
    return list(texts.values())


def _date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def text_to_item(source_id: str, text: JorfText, archive: str) -> CollectedItem:
    body_parts = [text.notice, text.visas]
    body_parts += [f"Article {num}. {content}".strip() for num, content in text.articles]
    body_parts.append(text.signatures)
    extra = {
        "jorf_id": text.id,
        "nor": text.nor or None,
        "nature": text.nature.lower() or None,
        "num": text.num or None,
        "date_texte": text.date_texte or None,
        "date_publi": text.date_publi or None,
        "archive": archive,
    }
    return CollectedItem(
        source_id=source_id,
        url=LEGIFRANCE.format(id=text.id),
        title=plain_text(text.title, 1000) or text.id,
        summary=plain_text(text.notice, 1000),
        text="\n\n".join(p for p in body_parts if p),
        language="fr",
        published=_date(text.date_publi) or _date(text.date_texte),
        extra={k: v for k, v in extra.items() if v},
    )


def _wanted(text: JorfText, options: Any) -> bool:
    if options is None:
        return True
    if options.natures and text.nature.lower() not in {n.lower() for n in options.natures}:
        return False
    if options.keywords:
        title = text.title.lower()
        return any(keyword.lower() in title for keyword in options.keywords)
    return True


def parse_archive(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    name = response.meta["archive"]
    try:
        texts = read_archive(response.body)
    except (tarfile.TarError, OSError, EOFError) as exc:
        run.warn("malformed", f"archive {name} is unreadable: {exc}")
        return []
    for text in texts:
        if _wanted(text, run.source.jorf):
            run.found += 1
            item = text_to_item(run.source.id, text, name)
            item.complete = True
            spider.save(run, item)
    # Marked only once every text of the archive is stored: a crash means a re-read, not a loss.
    state.add_mark(spider.store, run.source.id, name)
    return []
