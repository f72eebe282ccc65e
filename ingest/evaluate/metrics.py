"""Scoring an extraction against an approved entry: pure functions from (gold, predicted) to a report.

Which fields are scored, and how:

    primary_section, verdicts.<criterion>   exact match of a single value (1 or 0)
    sections, axes.<axis>, links.code       sets: true/false positives, negatives, precision, recall, F1
    details                                 the gold primary section's detail columns, fuzzy match per column

A field whose gold value is `unknown` (or empty) is not counted: the paper records it under `skipped` with
the reason, so a report on the imported catalog (all axes unknown) says so rather than scoring zeros.
Section, axis and criterion ids come from the taxonomy; nothing here names one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from ingest.evaluate.report import (
    Bucket,
    Delta,
    EvalFailure,
    EvalReport,
    FieldScore,
    FieldScores,
    FieldSummary,
)
from ingest.models import UNKNOWN, Entry, Extraction, FieldEvidence, Flag, MatchKind
from ingest.taxonomy import Taxonomy

# A detail column counts as right when the normalised texts score at least this (rapidfuzz token_set_ratio):
# the labels are short ("Reverse KL", "Token") and curators word them differently from papers.
TEXT_MATCH_THRESHOLD = 80.0
# Confidence buckets for calibration: [0, 0.2), [0.2, 0.4), ..., [0.8, 1.0].
BUCKET_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# Flags that label where a value came from rather than a problem with it; they do not make a field "flagged".
LABEL_FLAGS = frozenset({Flag.heuristic.value})
GITHUB_RE = re.compile(r"github\.com/([\w.-]+)/([\w.-]+)", re.IGNORECASE)


# --- one paper --------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _known(values: Iterable[str]) -> list[str]:
    return [v for v in values if v and v != UNKNOWN]


def set_counts(gold: Iterable[str], predicted: Iterable[str]) -> tuple[int, int, int]:
    g, p = set(gold), set(predicted)
    return len(g & p), len(p - g), len(g - p)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1; empty gold predicted empty is perfect; an empty prediction else scores 0."""
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _confidence(
    evidence: dict[str, FieldEvidence], keys: Sequence[str], prefix: str | None = None
) -> float | None:
    """The field's confidence: the first evidence key that exists, else the mean over keys under `prefix`."""
    for key in keys:
        if key in evidence:
            return evidence[key].confidence
    if prefix:
        found = [ev.confidence for k, ev in evidence.items() if k.startswith(prefix)]
        if found:
            return sum(found) / len(found)
    return None


def _code_repos(entry: Entry) -> list[str]:
    """Code links as lower-case GitHub owner/name (the list links sub-folders and files of a repository)."""
    out = []
    for url in entry.code_urls:
        m = GITHUB_RE.search(url)
        out.append(f"{m.group(1)}/{m.group(2).removesuffix('.git')}".lower() if m else _norm(url).rstrip("/"))
    return sorted(set(out))


def _exact(field: str, gold: str, predicted: str | None, conf: float | None) -> FieldScore:
    pred = [predicted] if predicted else []
    return FieldScore(
        field=field,
        kind="exact",
        gold=[gold],
        predicted=pred,
        score=float(predicted == gold),
        confidence=conf,
    )


def _set(field: str, gold: list[str], predicted: list[str], conf: float | None) -> FieldScore:
    tp, fp, fn = set_counts(gold, predicted)
    return FieldScore(
        field=field,
        kind="set",
        gold=sorted(set(gold)),
        predicted=sorted(set(predicted)),
        score=prf(tp, fp, fn)[2],
        tp=tp,
        fp=fp,
        fn=fn,
        confidence=conf,
    )


def compare(gold: Entry, predicted: Extraction, taxonomy: Taxonomy) -> FieldScores:
    """Score one extraction field by field against the approved entry; unknown gold fields are skipped."""
    pred = predicted.entry
    ev = pred.evidence
    out = FieldScores(
        paper=predicted.paper,
        entry_id=gold.id,
        confidence=predicted.confidence,
        scope=predicted.scope.verdict,
    )

    out.fields.append(
        _exact(
            "primary_section",
            gold.primary_section,
            pred.primary_section,
            _confidence(ev, ["primary_section", "sections"]),
        )
    )
    out.fields.append(_set("sections", gold.sections, pred.sections, _confidence(ev, ["sections"])))

    for criterion in taxonomy.criteria:
        name = f"verdicts.{criterion.id}"
        verdict = gold.verdicts.get(criterion.id)
        if verdict is None or verdict.value == UNKNOWN:
            out.skipped[name] = "gold verdict is unknown"
            continue
        got = pred.verdicts.get(criterion.id)
        value = got.value if got is not None and got.value != UNKNOWN else None
        out.fields.append(
            _exact(name, verdict.value, value, _confidence(ev, [name, f"verdicts.{criterion.id}.value"]))
        )

    for axis in taxonomy.axes:
        name = f"axes.{axis.id}"
        gold_values = _known(gold.axes.get(axis.id, []))
        if not gold_values:
            out.skipped[name] = "gold axis is unknown"
            continue
        out.fields.append(
            _set(name, gold_values, _known(pred.axes.get(axis.id, [])), _confidence(ev, [name]))
        )

    gold_code = _code_repos(gold)
    if gold_code:
        out.fields.append(
            _set("links.code", gold_code, _code_repos(pred), _confidence(ev, ["links.code", "links"]))
        )
    else:
        out.skipped["links.code"] = "gold lists no code link"

    out.fields.extend(_details(gold, pred, ev, out.skipped, taxonomy))
    _evidence_stats(ev, out)
    out.flag_counts.update({f.value: out.flag_counts.get(f.value, 0) + 1 for f in predicted.flags})
    usage = predicted.usage
    out.prompt_tokens, out.completion_tokens = usage.prompt_tokens, usage.completion_tokens
    out.calls, out.cost_usd = usage.calls, usage.cost_usd
    return out


def _details(
    gold: Entry, pred: Entry, ev: dict[str, FieldEvidence], skipped: dict[str, str], taxonomy: Taxonomy
) -> list[FieldScore]:
    """The gold primary section's detail columns, each matched fuzzily against the same predicted column.
    The row's label (the section's `detail_key` column, "Model: HY-MT1.5") is scored as the list shows it:
    an entry filed in that section that gives no label is labelled with its name."""
    section = gold.primary_section
    gold_cols = {c: v for c, v in gold.details.get(section, {}).items() if v.strip() and _norm(v) != UNKNOWN}
    if not gold_cols:
        skipped["details"] = "gold has no technical details"
        return []
    pred_cols = dict(pred.details.get(section, {}))
    key = taxonomy.section(section).detail_key if section in taxonomy.section_ids else None
    if key in gold_cols and section in pred.sections and not pred_cols.get(key, "").strip():
        pred_cols[key] = pred.name
    scores = []
    for column, value in gold_cols.items():
        guess = pred_cols.get(column, "")
        ratio = fuzz.token_set_ratio(_norm(value), _norm(guess)) if guess.strip() else 0.0
        scores.append(1.0 if ratio >= TEXT_MATCH_THRESHOLD else 0.0)
    return [
        FieldScore(
            field="details",
            kind="text",
            gold=[f"{c}: {v}" for c, v in gold_cols.items()],
            predicted=[f"{c}: {v}" for c, v in pred_cols.items() if c in gold_cols],
            score=sum(scores) / len(scores),
            tp=int(sum(scores)),
            fn=len(scores) - int(sum(scores)),
            confidence=_confidence(ev, [f"details.{section}"], prefix=f"details.{section}."),
        )
    ]


def compare_negative(paper: str, exclusion_id: str, predicted: Extraction) -> FieldScores:
    """A paper the catalog excluded or rejected: only its scope call (and its evidence) is scored."""
    out = FieldScores(
        paper=paper,
        entry_id=exclusion_id,
        confidence=predicted.confidence,
        scope=predicted.scope.verdict,
        in_scope=False,
    )
    _evidence_stats(predicted.entry.evidence, out)
    return out


def called_in(scope: str | None) -> bool:
    """Whether a scope call makes a `new` proposal: anything but `out` (borderline included)."""
    return scope is not None and scope != "out"


def _scope_stats(papers: list[FieldScores], report: EvalReport) -> None:
    tp = sum(1 for p in papers if p.in_scope and called_in(p.scope))
    fp = sum(1 for p in papers if not p.in_scope and called_in(p.scope))
    fn = sum(1 for p in papers if p.in_scope and not called_in(p.scope))
    report.negatives = sum(1 for p in papers if not p.in_scope)
    report.scope_precision = tp / (tp + fp) if tp + fp else None
    report.scope_recall = tp / (tp + fn) if tp + fn else None
    right = sum(1 for p in papers if p.in_scope == called_in(p.scope))
    report.scope_accuracy = right / len(papers) if papers else None
    checked = sum(p.support_checked for p in papers)
    report.support_rate = sum(p.supported_fields for p in papers) / checked if checked else None


def _evidence_stats(ev: dict[str, FieldEvidence], out: FieldScores) -> None:
    for evidence in ev.values():
        out.evidence_fields += 1
        if evidence.support is not None:
            out.support_checked += 1
            out.supported_fields += evidence.support == "supported"
        problems = [f.value for f in evidence.flags if f.value not in LABEL_FLAGS]
        if problems:
            out.flagged_fields += 1
        for flag in problems:
            out.flag_counts[flag] = out.flag_counts.get(flag, 0) + 1
        for quote in evidence.quotes:
            out.quotes += 1
            if quote.match in (MatchKind.exact, MatchKind.fuzzy):
                out.quotes_grounded += 1
            elif quote.match == MatchKind.unchecked:
                out.quotes_unchecked += 1


# --- many papers ------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summarise_field(name: str, scores: list[FieldScore], skipped: int) -> FieldSummary:
    kind = scores[0].kind
    summary = FieldSummary(
        field=name, kind=kind, n=len(scores), skipped=skipped, mean_score=_mean([s.score for s in scores])
    )
    if kind == "set":
        tp, fp, fn = (sum(getattr(s, k) for s in scores) for k in ("tp", "fp", "fn"))
        summary.precision, summary.recall, summary.f1 = prf(tp, fp, fn)
        summary.accuracy = _mean([float(s.fp == 0 and s.fn == 0) for s in scores])
    else:
        summary.accuracy = summary.mean_score
    return summary


def calibration(scores: Iterable[FieldScore], edges: Sequence[float] = BUCKET_EDGES) -> list[Bucket]:
    """Accuracy by confidence bucket; the last bucket includes its upper edge (confidence 1.0)."""
    buckets: list[list[FieldScore]] = [[] for _ in edges[:-1]]
    for s in scores:
        if s.confidence is None:
            continue
        i = next((i for i in range(len(edges) - 1) if s.confidence < edges[i + 1]), len(edges) - 2)
        buckets[i].append(s)
    return [
        Bucket(
            low=edges[i],
            high=edges[i + 1],
            n=len(b),
            mean_confidence=_mean([s.confidence or 0 for s in b]),
            accuracy=_mean([s.score for s in b]),
        )
        for i, b in enumerate(buckets)
    ]


def summarise(
    papers: list[FieldScores],
    *,
    failures: Sequence[EvalFailure] = (),
    backend: str | None = None,
    model: str | None = None,
    prompt_hash: str | None = None,
) -> EvalReport:
    """Aggregate per-paper scores into the report; fields skipped on every paper get a note saying why."""
    report = EvalReport(
        backend=backend,
        model=model,
        prompt_hash=prompt_hash,
        papers=len(papers),
        failures=list(failures),
        per_paper=papers,
    )
    names: list[str] = []
    for p in papers:
        names += [f.field for f in p.fields if f.field not in names]
        names += [k for k in p.skipped if k not in names]
    for name in names:
        scored = [s for p in papers if (s := p.get(name)) is not None]
        skipped = sum(1 for p in papers if name in p.skipped)
        if scored:
            report.fields.append(_summarise_field(name, scored, skipped))
        else:
            reason = next(p.skipped[name] for p in papers if name in p.skipped)
            report.notes.append(f"{name} not counted: {reason} in all {skipped} entries")

    agree = [
        all(f.score == 1.0 for f in p.fields if f.field.startswith("verdicts."))
        for p in papers
        if any(f.field.startswith("verdicts.") for f in p.fields)
    ]
    report.verdict_papers = len(agree)
    report.verdict_agreement = _mean([float(a) for a in agree])

    report.quotes = sum(p.quotes for p in papers)
    report.quotes_unchecked = sum(p.quotes_unchecked for p in papers)
    checked = report.quotes - report.quotes_unchecked
    report.grounding_rate = sum(p.quotes_grounded for p in papers) / checked if checked else None
    evidence = sum(p.evidence_fields for p in papers)
    report.flagged_share = sum(p.flagged_fields for p in papers) / evidence if evidence else None
    for p in papers:
        for flag, n in p.flag_counts.items():
            report.flag_counts[flag] = report.flag_counts.get(flag, 0) + n

    _scope_stats(papers, report)
    report.tokens_per_paper = _mean([p.prompt_tokens + p.completion_tokens for p in papers])
    report.calls_per_paper = _mean([p.calls for p in papers])
    report.cost_per_paper = _mean([p.cost_usd for p in papers])
    report.calibration = calibration(f for p in papers for f in p.fields)
    return report


def diff_reports(old: EvalReport, new: EvalReport) -> list[Delta]:
    """The change of every headline number from an earlier report to this one (fields present in either)."""
    deltas = []
    names = [f.field for f in old.fields] + [f.field for f in new.fields if old.field(f.field) is None]
    for name in names:
        before, after = old.field(name), new.field(name)
        either = after or before
        kind = either.kind if either is not None else "exact"
        label = f"{name} ({'F1' if kind == 'set' else 'accuracy'})"
        deltas.append(
            Delta(
                metric=label, old=before.headline if before else None, new=after.headline if after else None
            )
        )
    for metric in (
        "verdict_agreement",
        "grounding_rate",
        "flagged_share",
        "scope_precision",
        "scope_recall",
        "support_rate",
        "tokens_per_paper",
        "cost_per_paper",
    ):
        deltas.append(Delta(metric=metric, old=getattr(old, metric), new=getattr(new, metric)))
    return deltas


__all__ = [
    "Bucket",
    "Delta",
    "EvalFailure",
    "EvalReport",
    "FieldScore",
    "FieldScores",
    "FieldSummary",
    "calibration",
    "called_in",
    "compare",
    "compare_negative",
    "diff_reports",
    "prf",
    "set_counts",
    "summarise",
]
