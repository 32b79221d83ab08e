""" "Collecter maintenant": one source's crawl started from the desk, in a thread.

It goes through ``run_collect``, which takes the same crawl lock as the scheduler
and `watcher collect`, so it never overlaps another crawl of the database (it
says so instead of waiting).
After the crawl, the new items are labelled when a trained model is there
(never trained here: that is the scheduler's or `watcher train`'s job).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from watcher.base.clock import utcnow
from watcher.config import SourcesFile
from watcher.settings import Settings
from watcher.store import Store


@dataclass
class CollectJob:
    source_id: str
    user: str
    status: str = "running"  # running | done | failed | busy
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    message: str = ""


class CollectRunner:
    """At most one desk-started collect at a time; ``current`` for the sources page."""

    def __init__(self) -> None:
        self.current: CollectJob | None = None
        self._lock = threading.Lock()

    def start(
        self,
        store: Store,
        settings: Settings,
        sources: SourcesFile | None,
        source_id: str,
        user: str,
    ) -> bool:
        """False when a desk collect is already running."""
        with self._lock:
            if self.current is not None and self.current.status == "running":
                return False
            job = CollectJob(source_id, user)
            self.current = job
        thread = threading.Thread(
            target=self._run, args=(job, store, settings, sources), daemon=True
        )
        thread.start()
        return True

    def _run(
        self, job: CollectJob, store: Store, settings: Settings, sources: SourcesFile | None
    ) -> None:
        from watcher.collect import run_collect
        from watcher.collect.lock import CrawlBusy

        try:
            # run_collect takes the database's crawl lock (CrawlBusy when it is held).
            report = run_collect(
                sources, db=store, settings=settings, only=[job.source_id], trigger="desk"
            )
            row = next((s for s in report.sources if s.source_id == job.source_id), None)
            if row is None or row.status == "failed":
                message = describe_error(row.error_kind, row.error_message) if row else ""
                status = "failed"
            else:
                message = f"{row.items_new} nouvel(s) élément(s)" + _label(store, settings, sources)
                status = "done"
        except CrawlBusy:
            status = "busy"
            message = "une autre collecte est en cours (planificateur ou ligne de commande)"
        except Exception as exc:  # reported on the page: the desk keeps running
            status = "failed"
            message = f"{type(exc).__name__} : {exc}"
        job.message = message
        job.finished_at = utcnow()
        job.status = status  # last: whoever sees it finished sees its message too


def _label(store: Store, settings: Settings, sources: SourcesFile | None) -> str:
    from watcher.classify import Classifier, classify_pending
    from watcher.exceptions import ClassifierError

    try:
        classifier = Classifier.load(settings, store, retrain=False)
    except ClassifierError:
        return " ; étiquetés au prochain passage du classifieur (modèle à entraîner)"
    count = classify_pending(store, settings, sources=sources, classifier=classifier)
    return f", {count} étiqueté(s)"


ERROR_KINDS_FR = {
    "dns": "le nom de domaine ne répond pas",
    "connection": "connexion refusée ou interrompue",
    "timeout": "pas de réponse dans le délai",
    "tls": "échec de la connexion chiffrée (TLS)",
    "too_large": "réponse trop volumineuse",
    "redirect_loop": "les redirections tournent en boucle",
    "bad_encoding": "réponse compressée illisible (Content-Encoding faux)",
    "http_404": "page introuvable (404)",
    "http_410": "page supprimée (410)",
    "http_403": "accès refusé (403) ; le site est laissé tranquille quelques heures",
    "http_429": "trop de requêtes (429) ; le site est laissé tranquille quelques heures",
    "http_5xx": "le serveur est en erreur (5xx), même après de nouveaux essais",
    "http_4xx": "le serveur a refusé la requête (4xx)",
    "robots": "interdit par le robots.txt du site",
    "host_backoff": "site laissé tranquille après un refus récent",
    "empty": "réponse vide",
    "not_a_feed": "une page HTML a été servie à la place du flux",
    "malformed": "flux, JSON ou XML illisible",
    "charset": "jeu de caractères déclaré faux ou absent (texte récupéré)",
    "no_items": "page lue, mais les sélecteurs n’ont trouvé aucun élément",
    "auth": "l’API a refusé les identifiants",
    "auth_missing": "la variable d’environnement de la clé d’API n’est pas définie",
    "interrupted": "collecte interrompue avant la fin de cette source",
    "error": "erreur inattendue",
}


def describe_error(kind: str | None, message: str | None) -> str:
    """A collect error in French: what the kind means, and the HTTP status or
    URL of the message when it gives one."""
    text = ERROR_KINDS_FR.get(kind or "", kind or "erreur")
    detail = (message or "").strip()
    if kind == "error" and detail:
        return f"{text} : {detail[:160]}"
    return text
