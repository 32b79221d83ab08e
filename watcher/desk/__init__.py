"""The curators' web desk (Starlette): curation, subscribers, sources, model preview."""
