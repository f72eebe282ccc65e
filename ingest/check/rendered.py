"""`check`'s comparison of the rendered catalog with entries/: the marker block must equal a fresh render.

A render of these very files that gave this very block before (its digest kept in the cache,
markdown/rendered.py) is not done again: 20,000 entries need not be rendered to learn nothing changed.
"""

from __future__ import annotations

from pathlib import Path

from ingest.catalog.records import Record
from ingest.catalog.store import CatalogRoot
from ingest.check.report import Severity
from ingest.markdown.escape import find_markers, marker_offsets
from ingest.markdown.rendered import (
    block_digest,
    known_render,
    remember_render,
    render_inputs,
    render_output_path,
)
from ingest.models import Entry, Exclusion
from ingest.taxonomy import Taxonomy

Finding = tuple[Path, int | None, Severity, str, str]  # file, line, severity, code, message


def compare_rendered(
    root: CatalogRoot,
    taxonomy: Taxonomy,
    entries: list[Record],
    exclusions: list[Exclusion],
    files: list[str | None] | None,
) -> list[Finding]:
    """What is wrong with the configured output; `files` are the catalog files' identities (catalog_files),
    None when entries/ or exclusions/ hold errors and no render can be trusted."""
    config = root.config.render
    path = render_output_path(root.path, config)
    if not path.exists():
        message = f"{config.output} does not exist; run `ingest render` to write the catalog"
        return [(path, None, "info", "render-skipped", message)]
    text = path.read_bytes().decode("utf-8", errors="replace")
    found: list[Finding] = []
    markers = find_markers(text, config.begin_marker, config.end_marker)
    bad = markers.problem(config.begin_marker, config.end_marker)
    if bad is not None:  # render refuses such a file: missing, repeated or misordered marker lines
        found.append((path, bad[0], "error", "render-markers", f"{config.output}: {bad[1]}"))
    if files is None:
        message = "not compared with entries/: fix the errors in entries/ and exclusions/ first"
        return [*found, (path, None, "info", "render-skipped", message)]
    span = marker_offsets(text, config.begin_marker, config.end_marker)
    if span is None:  # reported above
        return found
    current = text[span[0] : span[1]]
    inputs = render_inputs(taxonomy, config, files)
    if inputs is not None and known_render(root.cache_dir, inputs) == block_digest(current):
        return found
    from ingest.markdown.render import render_catalog  # here: an unchanged catalog never loads the renderer

    models = [record.validate(Entry) for record in entries]  # valid: built now, or kept from before
    block = render_catalog(taxonomy, models, exclusions, config=config)
    remember_render(root.cache_dir, inputs, block)
    if current.strip("\n") == block.strip("\n"):
        return found
    old, new = current.strip("\n").split("\n"), block.strip("\n").split("\n")
    pairs = zip(old, new, strict=False)
    diff = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(old), len(new)))
    first_line = text.count("\n", 0, span[0]) + 1  # the begin marker's line; the block starts below it
    message = f"{config.output} is out of sync with entries/ (first difference here); run `ingest render`"
    return [*found, (path, first_line + 1 + diff, "error", "render-out-of-sync", message)]
