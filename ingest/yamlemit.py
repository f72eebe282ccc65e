"""The record files' YAML written fast, in ruamel's exact style (yamlio's settings), for the data they hold.

ruamel's emitter is pure Python and costs some 20 ms an entry, most of `import-markdown`. A record is plain
data (mappings with text keys, lists, text, numbers, booleans, None), so it is written here, line by
line, the way yamlio's ruamel writes it: block style, a list's dash two spaces in under its key, text plain
when YAML 1.2 reads it back as the same text, else in single quotes. Anything outside what this module is sure
of (an exponent, a list in a list, a line break, a character ruamel escapes, ...) gives None, and yamlio asks
ruamel; so does a text that does not read back (yamlio parses it again), whatever the reason.
"""

from __future__ import annotations

import re
from typing import Any

# What YAML 1.2 (ruamel's resolver, as yaml12.py) reads as something other than text: such a word is quoted.
_NOT_TEXT = re.compile(
    r"""^(?:true|True|TRUE|false|False|FALSE|~|null|Null|NULL
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+
    |<<|=
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*)$""",
    re.X,
)
# The resolver looks at a word only when it starts with one of these (its table is keyed by first character).
_RESOLVED_FIRST = frozenset("tTfF-+0123456789.<~nN=")
# Plain text as ruamel writes it: no indicator first, no document marker ('---', '...') at the start, no ': '
# or ' #' inside, no space or ':' at either end, printable characters only (ASCII and the ranges ruamel
# writes as they are with allow_unicode).
_SAFE_CHAR = (
    "\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd\\U00010000-\\U0010fffe"
)
_PLAIN = re.compile(
    rf"""(?![,\[\]{{}}#&*!|>'"%@` ])(?!---|\.\.\.)(?![-?:](?: |$))"""
    rf"""(?!.*: )(?!.* \#)(?!.*[: ]$)[{_SAFE_CHAR}]+""",
    re.DOTALL,
)
# Single quotes hold any printable line without a quote of its own (ruamel writes that one in double quotes).
_SINGLE = re.compile(rf"[{_SAFE_CHAR}]*")
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
MAX_LINE = 4000  # yamlio's width is 4096: stay clear of any folding


class _Unsure(Exception):
    """This data is not one this writer is sure to write as ruamel would."""


def _text(value: str) -> str:
    if len(value) > MAX_LINE:
        raise _Unsure
    if value and _PLAIN.fullmatch(value) and not (value[0] in _RESOLVED_FIRST and _NOT_TEXT.match(value)):
        return value
    if _SINGLE.fullmatch(value) and "'" not in value:
        return "'" + value + "'"
    raise _Unsure


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float) and _DECIMAL.fullmatch(repr(value)):
        return repr(value)  # as ruamel writes a float with neither exponent nor inf/nan
    raise _Unsure  # anything else: ruamel's own representation


def _mapping(data: dict[Any, Any], indent: int, out: list[str], first_prefix: str | None = None) -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(data.items()):
        if not isinstance(key, str):
            raise _Unsure
        head = (first_prefix if i == 0 and first_prefix is not None else pad) + _text(key) + ":"
        _value(head, value, indent, out)


def _value(head: str, value: Any, indent: int, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append(head + " {}")
            return
        out.append(head)
        _mapping(value, indent + 2, out)
    elif isinstance(value, list):
        if not value:
            out.append(head + " []")
            return
        out.append(head)
        for item in value:
            dash = " " * (indent + 2) + "- "
            if isinstance(item, dict) and item:
                _mapping(item, indent + 4, out, first_prefix=dash)
            elif isinstance(item, dict | list):
                raise _Unsure  # an empty mapping or a list in a list: ruamel's own layout
            else:
                out.append(dash + _scalar(item))
    else:
        scalar = _scalar(value)
        out.append(f"{head} {scalar}" if scalar else head)


def dump_record(data: Any) -> str | None:
    """`data` (a mapping) as yamlio's ruamel writes it, or None when this writer is not sure."""
    if not isinstance(data, dict) or not data:
        return None
    out: list[str] = []
    try:
        _mapping(data, 0, out)
    except (_Unsure, RecursionError):
        return None
    return "\n".join(out) + "\n"
