"""Offline token counting: an estimate close to OpenAI's BPE tokenizers, with no file to download.

The rule: every run of letters or digits costs one token per started 6 characters, and every other visible
character (punctuation, maths symbols, CJK) costs one token; whitespace is free. On English paper prose it
lands within about 10-15 % of tiktoken's cl100k/o200k counts, which is close enough for budgeting a context.
"""

from __future__ import annotations

import re

# The pieces: runs of letters or digits, and single other visible characters (an underscore is one).
_WORD = re.compile(r"[^\W_]+")
_OTHER = re.compile(r"[^\w\s]|_")
_CHARS_PER_WORD_TOKEN = 6
# Text without CJK (nearly every paper) is the same rule as one C scan: a run of n letters or digits gives
# ceil(n / 6) matches of up to 6 of them, every other visible character one match.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]{1,6}|[^A-Za-z0-9\s]")
_TOKEN = re.compile(r"[^\W_]{1,6}|[^\w\s]|_")
_CJK = re.compile("[\u3040-\u9fff\uac00-\ud7af]")


def count_tokens(text: str) -> int:
    """Estimated tokens in `text` (see the module docstring for the rule)."""
    per = _CHARS_PER_WORD_TOKEN
    if text.isascii():
        return len(_ASCII_TOKEN.findall(text))
    if _CJK.search(text) is None:
        return len(_TOKEN.findall(text))
    total = len(_OTHER.findall(text))
    for word in _WORD.findall(text):
        # A run that starts with CJK costs one token a character, however it is grouped.
        total += len(word) if _is_cjk(word[0]) else (len(word) + per - 1) // per
    return total


def _is_cjk(char: str) -> bool:
    # CJK ideographs and kana are about one token each, however they are grouped.
    return "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"
