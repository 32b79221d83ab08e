"""Publish stage: the weekly bulletin, the static archive site with Pagefind
search, Atom feeds and iCalendar files, all built from the store."""
