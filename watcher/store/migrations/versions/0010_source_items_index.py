"""Items by source: an index on item_sources (source_id, first_seen).

The sources page (and `watcher sources check`) asks, for each source, how many
items it brought in 30 days, when it brought the last one and the publication
dates of its latest items. The table's primary key starts with item_id, so each
of those questions read every row of item_sources: on a few years' archive
(30,000 items, 60 sources) the page took about 0.7 s, growing with the archive.

Revision ID: 0010_source_items_index
Revises: 0009_desk_sessions
"""

from alembic import op

revision = "0010_source_items_index"
down_revision = "0009_desk_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_item_sources_source", "item_sources", ["source_id", "first_seen"])


def downgrade() -> None:
    op.drop_index("ix_item_sources_source", table_name="item_sources")
