"""CLI commands on the catalog itself: `import-markdown`, `render` and `check`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ingest.catalog.store import CatalogRoot
from ingest.check.format import append_step_summary, format_github, format_json, format_text
from ingest.check.memo import checked
from ingest.cli.ui import console, err_console, interactive, print_json
from ingest.errors import UsageError

if TYPE_CHECKING:
    from ingest.catalog.merge import MergeReport
    from ingest.markdown.importer import ImportResult  # imported on use at run time: see import_markdown_cmd


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@click.command("import-markdown", short_help="Bootstrap entries/ from an existing list's markdown.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--keep-prose",
    is_flag=True,
    help="Also keep the curators' sentences (strictness notes, Notes columns); off by default.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing entries by the list's, dropping their reviewed values and evidence.",
)
@click.option("--dry-run", is_flag=True, help="Print what the import would change, keep and not reconcile.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts and problems as JSON for scripts.")
@click.pass_obj
def import_markdown_cmd(
    root: CatalogRoot, file: Path, keep_prose: bool, overwrite: bool, dry_run: bool, as_json: bool
) -> None:
    """Bootstrap entries/ (and exclusions/) from an existing list's markdown; creates the root if needed.

    Headings are matched to the sections of the root's taxonomy.yaml (the bundled one for a new root): put
    another list's taxonomy.yaml in the root first. What cannot be placed is printed as FILE:LINE: message.
    Into a root with entries it merges: reviewed, edited and extracted fields keep their values and evidence
    unless the list changed that fact; it prints what it changed, kept and could not reconcile.
    Exit codes: 0 imported (problems are warnings); 2 bad usage, or no table of FILE matched a section."""
    from ingest.markdown.importer import (
        import_markdown,  # imported on use: the other commands must not pay for markdown-it
    )

    result = import_markdown(root, file, keep_prose=keep_prose, overwrite=overwrite, dry_run=dry_run)
    for problem in result.problems:
        err_console.print(f"{file}:{problem.line}: {problem.message}", highlight=False, markup=False)
    if not result.entries and not result.exclusions:
        # before any summary: "imported 0 entries into DIR" would name a root that is not there (or unchanged)
        raise UsageError(
            f"{file}: no table matched a section of {root.taxonomy_path.name}; nothing was imported",
            hint="is it the list's markdown? match its headings in the taxonomy's sections",
        )
    if as_json:
        print_json(
            {
                "root": str(root.path),
                "entries": len(result.entries),
                "exclusions": len(result.exclusions),
                "rows_by_section": result.rows_by_section,
                "problems": [
                    {"file": str(file), "line": p.line, "message": p.message} for p in result.problems
                ],
                "dry_run": dry_run,
                "merge": _merge_json(result.merge),
            }
        )
    else:
        _print_import(root, result, dry_run)
        _print_merge(result.merge, dry_run)


def _merge_json(merge: MergeReport | None) -> dict[str, object] | None:
    if merge is None:
        return None
    notes = {"changed": merge.changed, "kept": merge.kept, "not_reconciled": merge.conflicts}
    out: dict[str, object] = {"added": merge.added, "untouched": len(merge.untouched)}
    for name, items in notes.items():
        out[name] = [{"entry": n.entry, "field": n.field, "why": n.why} for n in items]
    return out


def _print_merge(merge: MergeReport | None, dry_run: bool) -> None:
    """What the import did to the entries already there, one line each (all of them: this is the audit)."""
    if merge is None:
        return
    verb = "would change" if dry_run else "changed"
    for label, items in ((verb, merge.changed), ("kept", merge.kept), ("not reconciled", merge.conflicts)):
        for note in items:
            console.print(f"{label}: {note.entry} {note.field}: {note.why}", highlight=False, markup=False)
    console.print(
        f"{len(merge.added)} new, {len(merge.changed)} field(s) {verb}, {len(merge.kept)} kept, "
        f"{len(merge.conflicts)} not reconciled, {len(merge.untouched)} entries not in the list untouched",
        highlight=False,
        markup=False,
    )


def _print_import(root: CatalogRoot, result: ImportResult, dry_run: bool = False) -> None:
    console.print(
        f"{'would import' if dry_run else 'imported'} {_count(len(result.entries), 'entry', 'entries')} and "
        f"{_count(len(result.exclusions), 'exclusion', 'exclusions')} into {root.path} "
        f"({sum(result.rows_by_section.values())} table rows, {len(result.problems)} problem(s) reported)",
        highlight=False,
        markup=False,
    )
    if interactive():
        from rich.table import Table  # only here: `check` and `render` print plain lines

        table = Table("section", "rows")
        for section, rows in result.rows_by_section.items():
            table.add_row(section, str(rows))
        console.print(table)
    else:
        for section, rows in result.rows_by_section.items():
            console.print(f"  {section}: {rows} rows", highlight=False, markup=False)


@click.command("render", short_help="Write the catalog markdown from entries/.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE|-",
    help="Write here instead of render.output in ingest.yaml; '-' prints the document to stdout.",
)
@click.pass_obj
def render_cmd(root: CatalogRoot, output: str | None) -> None:
    """Write the catalog markdown from entries/: between the markers of an existing file, or a new file.

    A file that exists without the two marker lines (render.begin_marker, render.end_marker) is refused,
    so nothing a person wrote is overwritten. What lies between the markers is render's: a hand edit there
    since the last render is replaced, with a warning naming its line and the copy of the old file kept in
    the cache (replaced/). An entry in a section taxonomy.yaml does not have is named too, with its file and
    line. Exit codes: 0 written or already current; 2 bad usage."""
    from ingest.markdown.render import render_root  # here: `check` needs no renderer

    root.require()
    if output == "-":
        result = render_root(root, output)  # prints only: no lock needed
    else:
        with root.lock("ingest render"):
            result = render_root(root, output)
    for line in [*result.left_out, *([result.replaced_edit] if result.replaced_edit else [])]:
        err_console.print(f"warning: {line}", highlight=False, markup=False, soft_wrap=True)
    if result.path is None:
        sys.stdout.write(result.text)
        sys.stdout.flush()
        return
    shown = result.path.relative_to(root.path) if result.path.is_relative_to(root.path) else result.path
    entries = _count(result.entries, "entry", "entries")
    if not result.changed:
        message = f"{shown} is up to date ({entries})"
    elif result.mode == "markers":
        message = f"wrote {shown}: the catalog between its markers ({entries})"
    else:
        message = f"wrote {shown}: a new file ({entries})"
    console.print(message, highlight=False, markup=False)


def _github_prefix(root: CatalogRoot) -> str:
    """The root's path inside the repository, so annotations point at the right file."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and root.path.is_relative_to(Path(workspace).resolve()):
        rel = root.path.relative_to(Path(workspace).resolve()).as_posix()
        return "" if rel == "." else rel + "/"
    return ""


@click.command("check", short_help="Validate the root; flag low-confidence fields.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people, github for workflow annotations (+ step summary), json for scripts.",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    metavar="X",
    default=None,
    help="Flag fields whose confidence is below X, 0 to 1. Default: check.min_confidence in ingest.yaml.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings (flagged fields) too, not only on errors.")
@click.pass_context
def check_cmd(ctx: click.Context, fmt: str, min_confidence: float | None, strict: bool) -> None:
    """Validate entries/, review_queue/, exclusions/ and decisions/ against the schema and the taxonomy.

    Exit 0 when clean or only warnings; 1 on errors (or warnings under --strict), including an invalid
    ingest.yaml or taxonomy.yaml (reported as an error; other commands exit 2 on those); 2 when not a root.
    A root that has not changed since a check gets that check's report again, from the cache."""
    root: CatalogRoot = ctx.obj
    report = checked(root, min_confidence)  # the same report again when nothing changed since the last
    if fmt == "json":
        sys.stdout.write(format_json(report, strict=strict))
    elif fmt == "github":
        prefix = _github_prefix(root)
        sys.stdout.write(format_github(report, prefix))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            append_step_summary(report, Path(summary), prefix)
    else:
        sys.stdout.write(format_text(report))
    sys.stdout.flush()
    ctx.exit(report.exit_code(strict=strict))


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    for command in (import_markdown_cmd, render_cmd, check_cmd):
        cli.add_command(command)
