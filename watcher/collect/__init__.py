"""The collect stage: one Scrapy crawl, in a child process, over the given sources.

The code is in :mod:`watcher.collect.run`; this package only re-exports its public
functions, lazily. The crawl child (``python -m watcher.collect.crawl``) imports this
package too, and must not pay for what only the parent needs (pydantic models of the
sources and settings, the store's run bookkeeping): see :mod:`watcher.collect.plain`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watcher.collect.run import run_collect, select_sources, source_job

__all__ = ["run_collect", "select_sources", "source_job"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from watcher.collect import run

        return getattr(run, name)
    raise AttributeError(f"module 'watcher.collect' has no attribute {name!r}")
