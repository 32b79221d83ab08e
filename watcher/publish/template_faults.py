"""A user's template that cannot be read, compiled or rendered, told as
``<template file>:<line>: <what Jinja said>``.

Jinja's own exceptions name the template at best (a syntax error) and often
nothing (an undefined macro, a division by zero), so the CLI took them for
bugs of watcher. Jinja rewrites the traceback of a rendering so that its
frames are the templates' files and lines: the innermost such frame is where
the template failed.

Blame stays with watcher when no ``publish.templates_dir`` is set (the
bundled templates are tested: a failure there is a bug). With one set, a
Jinja error (syntax, undefined name, missing template) is the override's
doing even when it surfaces in a bundled template (a macro the override no
longer defines); any other exception is only when a user's template is on the
stack.
"""

from __future__ import annotations

import os
import posixpath
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2.loaders import split_template_path

from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.exceptions import TemplateFileError, WatcherError

# A lone surrogate: text no file or HTTP answer can carry as UTF-8. Only a
# template can make one ("\udc80" in an expression); the database refuses them.
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DETAIL = 300


class Utf8Loader(FileSystemLoader):
    """A FileSystemLoader (one folder) that names the file and line of bytes
    that are not UTF-8, where Jinja lets the codec's error through without them."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError:
            path = os.path.normpath(
                posixpath.join(self.searchpath[0], *split_template_path(template))
            )
            data = Path(path).read_bytes()
            try:
                data.decode("utf-8")
                line = None  # rewritten since Jinja read it: name the file only
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
            raise TemplateFileError(
                path, line, "not UTF-8 text (save the template as UTF-8)"
            ) from None


def _inside(path: str | Path, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def _location(exc: BaseException, folders: list[Path]) -> tuple[str, int | None] | None:
    """The template file and line where ``exc`` was raised, if a template raised it."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if any(_inside(frame.filename, folder) for folder in folders)
    ]
    return (frames[-1].filename, frames[-1].lineno) if frames else None


def _detail(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        text = exc.message or "syntax error"
    elif isinstance(exc, TemplateNotFound):
        text = f"template {exc.name!r} not found"
    elif isinstance(exc, TemplateError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = (text.strip().splitlines() or [""])[0]
    return first if len(first) <= _MAX_DETAIL else first[:_MAX_DETAIL] + "…"


def template_fault(exc: BaseException, user_folder: Path | None) -> TemplateFileError | None:
    """``exc`` as the fault of a user's template, or None when it is not one."""
    if user_folder is None or isinstance(exc, WatcherError):
        return None
    if isinstance(exc, OSError) and not isinstance(exc, TemplateError):
        return None  # a file that cannot be read: the CLI names it (TemplateNotFound is one)
    where = _location(exc, [user_folder, BUNDLED_TEMPLATES])
    if where is None:
        return None
    path, line = where
    if not isinstance(exc, TemplateError) and not _inside(path, user_folder):
        return None
    return TemplateFileError(path, line, _detail(exc))


@contextmanager
def reported(user_folder: Path | None) -> Iterator[None]:
    """Raise the faults of a user's templates met in the block as TemplateFileError."""
    try:
        yield
    except Exception as exc:
        fault = template_fault(exc, user_folder)
        if fault is None:
            raise
        raise fault from exc


def check_unicode(text: str, template_file: str | None, user_folder: Path | None) -> str:
    """``text``, or TemplateFileError when it holds a character UTF-8 cannot encode
    (writing the page or the e-mail would fail later, far from the template)."""
    found = _SURROGATE.search(text) if user_folder is not None else None
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise TemplateFileError(
            template_file or "?",
            None,
            f"renders {found.group()!r}, which cannot be written as UTF-8 "
            f"(line {line} of the output)",
        )
    return text
