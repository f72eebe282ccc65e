"""Offline token counting: an estimate close to OpenAI's BPE tokenizers, with no file to download.

The rule: every run of letters or digits costs one token per started 6 characters, and every other visible
character (punctuation, maths symbols, CJK) costs one token; whitespace is free. On English paper prose it
lands within about 10-15 % of tiktoken's cl100k/o200k counts, which is close enough for budgeting a context.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"[^\W_]+|[^\w\s]|_", re.UNICODE)
_CHARS_PER_WORD_TOKEN = 6
# ASCII text (most of a paper) has no CJK: the same rule as two C scans, no Python loop over its pieces.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_ASCII_OTHER = re.compile(r"[^A-Za-z0-9\s]")


def count_tokens(text: str) -> int:
    """Estimated tokens in `text` (see the module docstring for the rule)."""
    if text.isascii():
        words = _ASCII_WORD.findall(text)
        per = _CHARS_PER_WORD_TOKEN
        return sum((len(w) + per - 1) // per for w in words) + len(_ASCII_OTHER.findall(text))
    total = 0
    for piece in _PIECE.findall(text):
        if piece[0].isalnum() and not _is_cjk(piece[0]):
            total += -(-len(piece) // _CHARS_PER_WORD_TOKEN)
        else:
            total += len(piece) if _is_cjk(piece[0]) else 1
    return total


def _is_cjk(char: str) -> bool:
    # CJK ideographs and kana are about one token each, however they are grouped.
    return "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"
