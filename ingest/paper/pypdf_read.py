"""pypdf, the second reader: page texts and page 1's layout title through pypdf's visitor callbacks.

read.py uses it when `read.engine` is pypdf, and for a PDF that PDFium cannot open; it also names what is
wrong with a damaged or encrypted file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from ingest.errors import ReadError
from ingest.paper.title import LayoutCollector, layout_title

# pypdf reports recoverable oddities ("Ignoring wrong pointing object ...") and fontTools its font quirks
# through logging; they do not change the text. Real failures still arrive as exceptions, which read_pdf
# turns into ReadError, so raising the level hides noise, not errors.
for _name in ("pypdf", "fontTools"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def short_error(exc: BaseException) -> str:
    """An exception as one short printable line (pypdf quotes raw bytes of the damaged object)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = "".join(c if c.isprintable() and ord(c) < 0x2E80 else "?" for c in text)
    return text if len(text) <= 100 else text[:97] + "..."


def read_pypdf(path: Path, name: str) -> tuple[list[str], str | None, Any]:
    """Page texts, layout title and /Title by pypdf; ReadError for an encrypted or damaged file."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError(
                name, f"{path.name} is encrypted and needs a password", hint="supply an unlocked copy"
            )
        first_raw, layout = first_page_layout(reader)
        raw_pages = [first_raw] + [page.extract_text() or "" for page in reader.pages[1:]]
        metadata = reader.metadata.title if reader.metadata else None
    except ReadError:
        raise
    except FileNotDecryptedError as exc:
        raise ReadError(
            name, f"{path.name} is encrypted and needs a password", hint="supply an unlocked copy"
        ) from exc
    except Exception as exc:
        # Only pypdf runs in this block. It reports a damaged file as PdfReadError, but also as ValueError,
        # KeyError, NotImplementedError ("Unsupported filter"), zlib.error...: the file is what is wrong.
        raise ReadError(
            name, f"{path.name} is corrupt: {short_error(exc)}", hint="check the file, or download it again"
        ) from exc
    return raw_pages, layout, metadata


def first_page_layout(reader: PdfReader) -> tuple[str, str | None]:
    """Page 1's raw text (as extract_text gives it) and the title its layout shows, in one pass of pypdf."""
    if not reader.pages:
        return "", None
    page = reader.pages[0]
    collector = LayoutCollector()
    raw = (
        page.extract_text(
            visitor_text=collector.text,
            visitor_operand_before=collector.before,
            visitor_operand_after=collector.after,
        )
        or ""
    )
    box = page.mediabox
    return raw, layout_title(collector.lines(), float(box.height), float(box.bottom))


def first_page_pypdf(path: Path) -> tuple[str, str | None, Any]:
    """Page 1's raw text, its layout title and /Title; ("", None, None) for a file locked with a password."""
    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        return "", None, None
    raw, layout = first_page_layout(reader)
    return raw, layout, reader.metadata.title if reader.metadata else None
