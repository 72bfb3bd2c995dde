"""Load a launch file's YAML keeping the line of every mapping, key and list item.

Errors in launch files must name the file and the line, so the file is composed into
YAML nodes (which carry `start_mark`) and converted into `Located` containers: a `LMap`
(dict) remembers the line of itself and of each key, a `LList` (list) the line of itself
and of each item. Scalars are plain Python values typed by YAML's safe rules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from robomatrix.errors import UsageError


class LMap(dict):
    """A YAML mapping with `line` (1-based) and `key_lines[key]`."""

    line: int = 0
    key_lines: dict


class LList(list):
    """A YAML sequence with `line` (1-based) and `item_lines[i]`."""

    line: int = 0
    item_lines: list


class _Constructor(yaml.SafeLoader):
    pass


def _line(node) -> int:
    return node.start_mark.line + 1


def _convert(node, loader: yaml.SafeLoader, where: str) -> Any:
    if isinstance(node, MappingNode):
        out = LMap()
        out.line, out.key_lines = _line(node), {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise UsageError(f"{where}:{_line(key_node)}: mapping keys must be plain names.")
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise UsageError(f"{where}:{_line(key_node)}: duplicate key '{key}'.")
            out[key] = _convert(value_node, loader, where)
            out.key_lines[key] = _line(key_node)
        return out
    if isinstance(node, SequenceNode):
        out = LList()
        out.line, out.item_lines = _line(node), []
        for item in node.value:
            out.append(_convert(item, loader, where))
            out.item_lines.append(_line(item))
        return out
    return loader.construct_object(node, deep=True)


def load_located(path: str | Path) -> Any:
    """The YAML document in `path` as LMap/LList/scalars; UsageError naming file and line on bad YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"Launch file '{path}' does not exist.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read launch file '{path}': {exc.strerror}.") from None
    loader = _Constructor(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise UsageError(f"{path}:1: the launch file is empty; it needs a top-level 'launch:' list.")
        return _convert(root, loader, str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "malformed YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise UsageError(f"{path}:{line}: malformed YAML: {problem}.") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
