"""The ground floor: vocabulary every stage shares, importing no stage.

``clock`` (aware UTC time, Europe/Paris), ``weeks`` (ISO weeks, French
dates), ``vocabulary`` (the ids of source kinds, item types and scopes),
``taxonomy`` (the French names of the labels, read once per settings) and
``resources`` (where the bundled templates and classifiers are). Modules
here import only the standard library, third-party libraries,
``watcher.exceptions`` and ``watcher.settings``; ``tests/test_floors.py``
keeps it so.
"""
