"""CLI command `ingest eval`: the extractor scored against the approved catalog, as tables or JSON."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import BACKEND_HELP, CONCURRENCY_HELP, MODEL_HELP, console, print_json, progress
from ingest.evaluate.metrics import Delta, EvalReport
from ingest.evaluate.run import diff_reports, evaluate, load_report, save_report
from ingest.extract.backend import BACKENDS
from ingest.jobs.pipeline import PipelineOptions


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _signed(delta: Delta) -> str:
    change = delta.change
    if change is None:
        return "new" if delta.old is None else "gone"
    style = "green" if change > 0 else "red" if change < 0 else "dim"
    return f"[{style}]{change:+.3f}[/]"


def print_report(report: EvalReport) -> None:
    """The report as rich tables: fields, the paper-level numbers, calibration, per paper, notes."""
    failed = f", {len(report.failures)} failed" if report.failures else ""
    scored = f"{report.papers} paper{'' if report.papers == 1 else 's'}"
    console.print(
        f"[bold]ingest eval[/]: {scored} scored{failed} · backend {report.backend} · "
        f"model {report.model or '-'} · prompt {report.prompt_hash or '-'}"
    )
    fields = Table(title="Per field (gold = the approved entry; unknown gold is not counted)")
    for col in ("field", "kind", "n", "skipped", "accuracy", "precision", "recall", "F1"):
        fields.add_column(col, justify="left" if col in ("field", "kind") else "right")
    for f in report.fields:
        fields.add_row(
            f.field,
            f.kind,
            str(f.n),
            str(f.skipped),
            _pct(f.accuracy),
            _pct(f.precision),
            _pct(f.recall),
            _pct(f.f1),
        )
    console.print(fields)

    overall = Table(title="Overall")
    overall.add_column("metric")
    overall.add_column("value", justify="right")
    criteria = ", ".join(f.field.split(".", 1)[1] for f in report.fields if f.field.startswith("verdicts."))
    agreement = f"{_pct(report.verdict_agreement)} of {report.verdict_papers} papers"
    overall.add_row(f"verdicts agree ({criteria or 'none known'})", agreement)
    checked = report.quotes - report.quotes_unchecked
    unchecked = f" ({report.quotes_unchecked} unchecked)" if report.quotes_unchecked else ""
    overall.add_row("quotes grounded", f"{_pct(report.grounding_rate)} of {checked}{unchecked}")
    overall.add_row("fields flagged", _pct(report.flagged_share))
    overall.add_row("evidence supports its value", _pct(report.support_rate))
    positives = report.papers - report.negatives
    overall.add_row(
        f"scope ({positives} in catalog, {report.negatives} excluded or rejected)",
        f"precision {_pct(report.scope_precision)} · recall {_pct(report.scope_recall)} · "
        f"right {_pct(report.scope_accuracy)}",
    )
    if report.flag_counts:
        overall.add_row("flags", ", ".join(f"{k} {v}" for k, v in sorted(report.flag_counts.items())))
    overall.add_row("tokens / paper", _num(report.tokens_per_paper, "{:,.0f}"))
    overall.add_row("LLM calls / paper", _num(report.calls_per_paper))
    overall.add_row("cost / paper (USD)", _num(report.cost_per_paper, "{:.4f}"))
    console.print(overall)

    calib = Table(title="Calibration: accuracy by confidence (a set field counts its F1)")
    for col in ("confidence", "fields", "mean confidence", "accuracy"):
        calib.add_column(col, justify="right")
    for b in report.calibration:
        calib.add_row(f"{b.low:.1f}-{b.high:.1f}", str(b.n), _num(b.mean_confidence), _pct(b.accuracy))
    console.print(calib)

    papers = Table(title="Per paper")
    for col in ("paper", "entry", "primary: catalog -> extracted", "sections F1", "confidence"):
        papers.add_column(col)
    for p in report.per_paper:
        primary = p.get("primary_section")
        sections = p.get("sections")
        got = primary.predicted[0] if primary and primary.predicted else "-"
        shown = f"{primary.gold[0]} -> {got}" if primary else "-"
        f1 = _pct(sections.score if sections else None)
        if not p.in_scope:
            shown = f"excluded -> {p.scope or '-'}"
        papers.add_row(p.paper, p.entry_id, shown, f1, f"{p.confidence:.2f}")
    for failure in report.failures:
        papers.add_row(failure.paper, failure.entry_id, f"[red]failed: {escape(failure.error)}[/]", "-", "-")
    console.print(papers)
    for note in report.notes:
        console.print(f"note: {escape(note)}")


def print_deltas(deltas: list[Delta], previous: Path) -> None:
    table = Table(title=f"Change against {previous}")
    for col in ("metric", "before", "after", "change"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for d in deltas:
        table.add_row(d.metric, _num(d.old, "{:.3f}"), _num(d.new, "{:.3f}"), _signed(d))
    console.print(table)


@click.command("eval", short_help="Score the extractor against the approved catalog.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help=BACKEND_HELP)
@click.option("--model", metavar="NAME", default=None, help=MODEL_HELP)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Evaluate at most N papers (the first by entry id).",
)
@click.option(
    "--pdfs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of PDFs whose names hold the arXiv id (gkd-2306.13649.pdf); the cache is used too.",
)
@click.option("--concurrency", type=click.IntRange(min=1), metavar="N", default=None, help=CONCURRENCY_HELP)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file of decided facts per PDF (in scope, section, teacher source, half) that fixes the gold. "
    "Default: evaluate.truth in ingest.yaml.",
)
@click.option(
    "--half",
    type=click.Choice(["tuning", "reporting"]),
    default=None,
    help="Score only this half of the truth file's papers (tuning or reporting).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON (for --compare in a later run)."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the JSON report to FILE.",
)
@click.option(
    "--compare",
    "previous",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="An earlier JSON report: print the change of every metric.",
)
@click.pass_obj
def eval_command(
    root: CatalogRoot,
    backend: str | None,
    model: str | None,
    limit: int | None,
    pdfs: Path | None,
    concurrency: int | None,
    truth: Path | None,
    half: str | None,
    as_json: bool,
    output: Path | None,
    previous: Path | None,
) -> None:
    """Score the extractor against the approved catalog: per-field accuracy and F1, verdict agreement,
    grounding, flags, tokens and cost per paper, and calibration. Unknown gold values are not counted.
    Excluded and rejected papers whose PDF is at hand are negatives: the scope call's precision and recall.

    Exit codes: 0 scored (papers that failed are listed); 2 bad usage, not a root, or a bad --compare file;
    3 the LLM endpoint could not be reached."""
    before = load_report(previous) if previous else None  # a bad --compare file fails before any LLM call
    with progress("eval") as steps:
        report = evaluate(
            root,
            PipelineOptions(backend=backend, model=model, concurrency=concurrency),
            limit=limit,
            pdfs=pdfs,
            on_done=lambda outcome: steps.advance(outcome.candidate.key),
            truth=truth,
            half=half,  # type: ignore[arg-type]  # click.Choice gives one of the two
        )
    deltas = diff_reports(before, report) if before else None
    if output:
        save_report(report, output)
    if as_json:
        data = report.model_dump(mode="json")
        if deltas is not None:
            data["compare"] = [
                {"metric": d.metric, "old": d.old, "new": d.new, "change": d.change} for d in deltas
            ]
        print_json(data)
        return
    print_report(report)
    if deltas is not None and previous is not None and before is not None:
        print_deltas(deltas, previous)
        old, new = {p.paper for p in before.per_paper}, {p.paper for p in report.per_paper}
        if old != new:
            console.print(
                f"note: the two runs scored different papers ({len(old)} before, {len(new)} now, "
                f"{len(old & new)} in both): a change may come from the sample, not the extractor"
            )


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    cli.add_command(eval_command)
