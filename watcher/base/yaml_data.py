"""The team's YAML data files (taxonomy, lexicons, gazetteer), read safely and
without silently dropping a key written twice.

PyYAML keeps the last of two equal keys: a term listed twice in a lexicon with
two weights, or a label defined twice in the taxonomy, would lose one of them
with no word. Here it is an error naming the key and its line.
"""

from __future__ import annotations

from typing import Any

import yaml


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor below says so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key '{key}' (remove one of the two)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_data(raw: bytes | str) -> Any:
    """``yaml.safe_load`` that refuses a key written twice in one mapping."""
    return yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(exc: Exception) -> str:
    """One line for a reading error: where and what, without PyYAML's excerpt."""
    if not isinstance(exc, yaml.YAMLError):
        return str(exc)
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
