"""Full-text search on PostgreSQL: a French tsvector of each item, GIN-indexed.

SQLite has had its FTS5 index since 0001_core; this is the same search for
PostgreSQL, and nothing on SQLite. The text search configuration
``watcher_french`` is PostgreSQL's ``french`` (Snowball stemmer, French stop
words) with accents folded by the ``unaccent`` dictionary when that extension
can be created, as SQLite's ``remove_diacritics`` does. ``items.search`` is a
generated column, so no write path can forget it: the title weighs A, the
text B (ranked 5 to 1, as SQLite's bm25 weights). Only the first
``TEXT_HEAD`` characters of a text are indexed: a tsvector is limited to 1 MB,
and an oversized PDF must never make an item impossible to save.

Revision ID: 0008_postgresql_search
Revises: 0007_subscribers
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0008_postgresql_search"
down_revision = "0007_subscribers"
branch_labels = None
depends_on = None

TEXT_HEAD = 300_000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    unaccent = True
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError:  # not installed, or not allowed: search stays accent-sensitive
        unaccent = False
    op.execute("CREATE TEXT SEARCH CONFIGURATION watcher_french (COPY = pg_catalog.french)")
    if unaccent:
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION watcher_french "
            "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem"
        )
    op.execute(
        "ALTER TABLE items ADD COLUMN search tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('watcher_french', coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector('watcher_french', left(coalesce(text, ''), {TEXT_HEAD})), 'B')"
        ") STORED"
    )
    op.execute("CREATE INDEX ix_items_search ON items USING gin (search)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_items_search")
    op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS watcher_french")
