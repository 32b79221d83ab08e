"""The curators' web desk (Starlette): curation, subscribers, sources, model preview.

create_user(store, username, password) -> int
create_app(store, settings, sources=None) -> Starlette
"""

from watcher.desk.accounts import create_user

__all__ = ["create_user"]
