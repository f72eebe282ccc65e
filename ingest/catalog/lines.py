"""Line numbers of a record's keys as plain data: built once from the composed YAML, kept in the record cache.

A tree is `{"n": line}` for a scalar, plus `"m": {key: [key line, tree]}` for a mapping (the first of two
keys that read the same wins) or `"s": [tree, ...]` for a sequence; lines are 1-based. JSON holds it, so a
flagged record's lines survive between commands without composing its YAML again. A tree read back from
the cache is not trusted: a malformed one gives no line, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

LineTree = dict[str, Any]


def line_tree(node: yaml.Node) -> LineTree:
    """The tree of `node` (composed by yaml12.compose: no aliases, depth within the limits)."""
    tree: LineTree = {"n": int(node.start_mark.line) + 1}
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, list[Any]] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value not in keys:
                keys[key.value] = [int(key.start_mark.line) + 1, line_tree(value)]
        tree["m"] = keys
    elif isinstance(node, yaml.SequenceNode):
        tree["s"] = [line_tree(item) for item in node.value]
    return tree


def _step(tree: Any, key: str | int) -> tuple[int, LineTree] | None:
    """(the line where `key` starts, its subtree) in `tree`, or None: a mapping key as text (an int
    location finds the key `0` too, as pydantic's locations need), a sequence item by its int index."""
    if not isinstance(tree, dict):
        return None
    keys, items = tree.get("m"), tree.get("s")
    found: Any = None
    if isinstance(keys, dict):
        found = keys.get(str(key))
        if not (isinstance(found, list) and len(found) == 2):
            return None
        line, child = found
    elif isinstance(items, list) and isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(items):
            return None
        child = items[key]
        line = child.get("n") if isinstance(child, dict) else None
    else:
        return None
    if not isinstance(line, int) or isinstance(line, bool) or not isinstance(child, dict):
        return None
    return line, child


def nearest_line(tree: Any, loc: Sequence[str | int]) -> int | None:
    """The line of `loc`, or of its nearest parent that exists (pydantic error locations)."""
    if not isinstance(tree, dict):
        return None
    start = tree.get("n")
    best = start if isinstance(start, int) and not isinstance(start, bool) else None
    for key in loc:
        step = _step(tree, key)
        if step is None:
            break
        best, tree = step
    return best


def exact_line(tree: Any, loc: Sequence[str | int]) -> int | None:
    """The line of `loc` only when the whole path exists."""
    line = None
    for key in loc:
        step = _step(tree, key)
        if step is None:
            return None
        line, tree = step
    return line
