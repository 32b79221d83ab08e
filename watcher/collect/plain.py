"""The sources and settings of a crawl as the child reads them: plain attribute objects
built from the job's JSON, without pydantic.

The parent validated them already (``watcher.config.Source``, ``CollectSettings``);
validating them again in the child cost the import of pydantic and the building of
every model class, about a quarter of the child's start-up, paid at every run even when
nothing changed. These objects answer the same attribute reads the crawl makes
(``source.api.pagination.size``, ``auth.secret()``…); mappings that are data in the
schema (``api.fields``, ``api.params``, ``api.body``) stay dicts.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any


class Auth(SimpleNamespace):
    def secret(self) -> str | None:
        return os.environ.get(self.key_env)


def _block(data: dict[str, Any] | None, cls: type = SimpleNamespace) -> Any:
    return None if data is None else cls(**data)


def plain_source(data: dict[str, Any]) -> SimpleNamespace:
    """A source from ``Source.model_dump(mode="json")`` (see ``watcher.collect.source_job``)."""
    fields = dict(data)
    for block in ("hints", "html", "sitemap", "jorf"):
        fields[block] = _block(fields.get(block))
    api = fields.get("api")
    if api is not None:
        api = dict(api)
        api["pagination"] = _block(api.get("pagination"))
        api["auth"] = _block(api.get("auth"), Auth)
        fields["api"] = SimpleNamespace(**api)
    return SimpleNamespace(**fields)


def plain_settings(data: dict[str, Any]) -> SimpleNamespace:
    """The collect settings from ``CollectSettings.model_dump(mode="json")``."""
    return SimpleNamespace(**data)
