"""`check_root`: every problem of a root, each with its file, line and code; flags as warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.catalog.records import read_record
from ingest.catalog.store import CatalogRoot
from ingest.catalog.yaml12 import fast_load
from ingest.check.format import format_github, format_json, format_text, step_summary
from ingest.check.run import check_root
from ingest.markdown.render import render_root
from ingest.models import Entry, FieldEvidence, Flag, Link, LinkKind, Proposal, Quote, Verdict
from ingest.yamlio import load_yaml, loads_yaml, plain


def arxiv(aid: str) -> Link:
    return Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}", label=f"arXiv {aid}", arxiv_id=aid)


def good_entry(entry_id: str, aid: str, **extra: object) -> Entry:
    fields: dict[str, object] = {
        "id": entry_id,
        "name": entry_id.upper(),
        "date": "2025.01",
        "links": [arxiv(aid)],
        "sections": ["white-box"],
        "axes": {"teacher_source": ["external"]},
        "verdicts": {"c1": Verdict(value="yes"), "c2": Verdict(value="yes")},
    }
    fields.update(extra)
    return Entry.model_validate(fields)


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    root = CatalogRoot(tmp_path / "cat").create()
    root.write_entry(good_entry("gkd", "2306.13649"))
    root.write_entry(good_entry("minillm", "2306.08543", sections=["white-box", "reasoning"]))
    return root


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_clean_root_has_no_problems(root: CatalogRoot) -> None:
    render_root(root)
    report = check_root(root)
    assert report.problems == []
    assert report.counts == {"entries": 2, "proposals": 0, "exclusions": 0, "decisions": 0}
    assert report.exit_code() == 0


BROKEN = {
    # file -> (text, line of the problem, code)
    "entries/syntax.yaml": ("id: syntax\nname: [unclosed\nsections:\n  - white-box\n", 3, "yaml-syntax"),
    "entries/nosection.yaml": (
        "id: nosection\nname: X\nsections:\n  - white-box\n  - alchemy\n",
        5,
        "unknown-section",
    ),
    "entries/badaxis.yaml": (
        "id: badaxis\nname: Y\nsections:\n  - black-box\naxes:\n  teacher_source:\n    - telepathy\n",
        7,
        "bad-axis-value",
    ),
    "entries/twin.yaml": (
        "id: twin\nname: Z\nlinks:\n  - kind: arxiv\n    url: https://arxiv.org/abs/2306.13649\n"
        "    arxiv_id: '2306.13649'\nsections:\n  - opsd\n",
        6,
        "duplicate-arxiv",
    ),
    "entries/escape.yaml": ("id: ../x\nname: Escape\nsections:\n  - opsd\n", 1, "bad-id"),
    "review_queue/prop.yaml": (
        "id: prop\nkind: new\ntitle: A proposal\nentry:\n  id: prop\n  name: P\n  sections:\n    - opsd\n"
        "  axes:\n    pipeline_slot:\n      - mid\n      - sideways\n",
        12,
        "bad-axis-value",
    ),
}


@pytest.fixture
def broken(root: CatalogRoot) -> CatalogRoot:
    for rel, (text, _, _) in BROKEN.items():
        write(root.path / rel, text)
    return root


def test_a_broken_root_reports_one_error_per_problem_with_file_and_line(broken: CatalogRoot) -> None:
    report = check_root(broken)
    found = {(p.file, p.line, p.code) for p in report.errors}
    assert found == {(rel, line, code) for rel, (_, line, code) in BROKEN.items()}
    assert len(report.errors) == len(BROKEN)
    assert report.exit_code() == 1
    by_file = {p.file: p.message for p in report.errors}
    assert "alchemy" in by_file["entries/nosection.yaml"]
    assert "telepathy" in by_file["entries/badaxis.yaml"]
    assert "external" in by_file["entries/badaxis.yaml"]
    assert "entries/gkd.yaml" in by_file["entries/twin.yaml"]
    assert "'../x'" in by_file["entries/escape.yaml"]
    assert "sideways" in by_file["review_queue/prop.yaml"]


def test_text_format_names_file_line_severity_and_code(broken: CatalogRoot) -> None:
    text = format_text(check_root(broken))
    assert "entries/nosection.yaml:5: error: sections: 'alchemy' is not a section" in text
    assert text.rstrip().splitlines()[-1].startswith("checked 7 entries, 1 proposals")
    assert "6 errors" in text


def test_every_schema_error_of_a_file_is_reported(root: CatalogRoot) -> None:
    write(
        root.entries_dir / "many.yaml",
        "id: many\nname: M\ndate: '23-06'\nsections: []\nkind: poster\naproved: true\n",
    )
    report = check_root(root)
    lines = sorted((p.line, p.code) for p in report.errors)
    assert lines == [(3, "schema"), (4, "schema"), (5, "schema"), (6, "schema")]


def test_ids_names_and_duplicates(root: CatalogRoot) -> None:
    write(root.entries_dir / "other.yaml", "id: gkd\nname: Copy\nsections:\n  - surveys\n")
    write(root.entries_dir / "Bad Name.yaml", "id: bad\nname: B\nsections:\n  - surveys\n")
    codes = {(p.file, p.code) for p in check_root(root).errors}
    assert ("entries/other.yaml", "id-mismatch") in codes
    assert ("entries/other.yaml", "duplicate-id") in codes
    assert ("entries/Bad Name.yaml", "bad-filename") in codes


def test_taxonomy_vocabulary_for_details_axes_and_verdicts(root: CatalogRoot) -> None:
    write(
        root.entries_dir / "odd.yaml",
        "\n".join(
            [
                "id: odd",
                "name: Odd",
                "sections:",
                "  - white-box",
                "details:",
                "  white-box:",
                "    Flavour: sweet",
                "  nowhere:",
                "    Data: x",
                "  frameworks:",
                "    Backbone: PyTorch",
                "axes:",
                "  mood:",
                "    - happy",
                "verdicts:",
                "  c3:",
                "    value: yes",
                "",
            ]
        ),
    )
    found = {(p.line, p.severity, p.code) for p in check_root(root).problems if p.file == "entries/odd.yaml"}
    assert found == {
        (7, "error", "unknown-detail-column"),
        (8, "error", "unknown-section"),
        (10, "warning", "detail-section-not-listed"),
        (13, "error", "unknown-axis"),
        (16, "error", "unknown-criterion"),
    }


def flagged_entry() -> Entry:
    return good_entry(
        "flagged",
        "2401.00001",
        evidence={
            "axes.teacher_source": FieldEvidence(
                quotes=[Quote(text="we use a larger teacher", page=3)],
                confidence=0.4,
                flags=[Flag.ungrounded],
            ),
            "verdicts.c1": FieldEvidence(confidence=0.9),
            "title": FieldEvidence(confidence=0.5),
        },
    )


def test_flags_and_low_confidence_are_warnings_at_the_fields_line(root: CatalogRoot) -> None:
    path = root.write_entry(flagged_entry())
    text = path.read_text().splitlines()
    report = check_root(root)
    warnings = {p.field: p for p in report.warnings}
    assert set(warnings) == {"axes.teacher_source", "title"}
    axis = warnings["axes.teacher_source"]
    assert text[axis.line - 1].strip() == "teacher_source:"
    assert text[axis.line - 2].strip() == "axes:"
    assert axis.code == "ungrounded"
    assert axis.flags == ("ungrounded", "low-confidence")
    # a field the entry does not hold is pointed at by its evidence key
    assert text[warnings["title"].line - 1].strip() == "title:"
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 1
    assert {p.field for p in check_root(root, min_confidence=0.3).warnings} == {"axes.teacher_source"}


def test_proposal_flags_are_warnings(root: CatalogRoot) -> None:
    entry = flagged_entry().model_copy(update={"id": "newpaper"})
    proposal = Proposal(
        id="newpaper", kind="new", title="New", entry=entry, flags=[Flag.injection_suspect], confidence=0.4
    )
    path = root.write_proposal(proposal)
    lines = path.read_text().splitlines()
    warnings = [p for p in check_root(root).warnings if p.file == "review_queue/newpaper.yaml"]
    assert {p.code for p in warnings} == {"ungrounded", "low-confidence", "injection-suspect"}
    axis = next(p for p in warnings if p.field == "axes.teacher_source")
    assert lines[axis.line - 1].strip() == "teacher_source:"
    paper = next(p for p in warnings if p.code == "injection-suspect")
    assert lines[paper.line - 1].startswith("flags:")


def test_update_proposal_target_and_changes_are_checked(root: CatalogRoot) -> None:
    write(
        root.queue_dir / "upd.yaml",
        "\n".join(
            [
                "id: upd",
                "kind: update",
                "title: U",
                "target: ghost",
                "changes:",
                "  - field: axes.teacher_source",
                "    new:",
                "      - oracle",
                "",
            ]
        ),
    )
    found = {(p.line, p.code) for p in check_root(root).errors}
    assert found == {(4, "unknown-target"), (8, "bad-axis-value")}


def test_rendered_catalog_out_of_sync_is_an_error_with_the_line(root: CatalogRoot) -> None:
    result = render_root(root)
    assert check_root(root).problems == []
    root.write_entry(good_entry("gkd", "2306.13649", org="Google DeepMind"))
    errors = check_root(root).errors
    assert [p.code for p in errors] == ["render-out-of-sync"]
    readme = result.path.read_text().splitlines() if result.path else []
    assert errors[0].file == "README.md"
    assert "GKD" in readme[errors[0].line - 1]


def test_missing_output_is_an_info_not_an_error(root: CatalogRoot) -> None:
    report = check_root(root)
    assert [(p.severity, p.code) for p in report.problems] == [("info", "render-skipped")]
    assert report.exit_code(strict=True) == 0


def test_github_and_json_formats(root: CatalogRoot) -> None:
    root.write_entry(flagged_entry())
    write(root.entries_dir / "bad.yaml", "id: bad\nname: B\nsections:\n  - alchemy\n")
    report = check_root(root)
    out = format_github(report).splitlines()
    assert any(
        line.startswith("::error file=entries/bad.yaml,line=4,title=ingest check (unknown-section)::")
        for line in out
    )
    warning = next(line for line in out if line.startswith("::warning"))
    assert warning.startswith("::warning file=entries/flagged.yaml,line=")
    assert "axes.teacher_source: confidence 0.40 < 0.60; flagged ungrounded" in warning
    assert any(line.startswith("::notice file=README.md") for line in out)
    summary = step_summary(report)
    assert "| `entries/flagged.yaml` |" in summary
    assert "ungrounded, low-confidence" in summary
    import json

    data = json.loads(format_json(report))
    assert {"file", "line", "severity", "code", "message", "field", "flags", "confidence"} <= set(
        data["problems"][0]
    )
    assert data["counts"]["errors"] == len(report.errors)
    assert data["counts"]["warnings"] == len(report.warnings)
    assert data["counts"]["files_checked"] == sum(report.counts.values())
    assert data["exit_code"] == report.exit_code()


def test_fast_loader_reads_what_ruamel_reads(root: CatalogRoot) -> None:
    path = root.write_entry(flagged_entry())
    assert read_record(path).data == plain(load_yaml(path))
    scalars = "a: yes\nb: on\nc: '2025.03'\nd: 2025.03\ne: 017\nf: 0o17\ng: ~\nh: True\ni: 1_000\nj: .inf\n"
    assert fast_load(scalars) == plain(loads_yaml(scalars))
    assert fast_load(scalars)["a"] == "yes"  # YAML 1.2, as ruamel: not a boolean
    write(root.entries_dir / "twice.yaml", "id: twice\nname: T\nname: U\nsections:\n  - surveys\n")
    problem = next(p for p in check_root(root).errors if p.file == "entries/twice.yaml")
    assert problem.code == "yaml-syntax"
    assert problem.line == 3


def test_an_invalid_taxonomy_is_reported_with_its_line(root: CatalogRoot) -> None:
    lines = root.taxonomy_path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.strip() == "strictness_notes: false")
    lines[number] = lines[number].replace("false", "sometimes")
    root.taxonomy_path.write_text("".join(lines), encoding="utf-8")
    report = check_root(CatalogRoot(root.path))
    assert [(p.file, p.line, p.code) for p in report.problems] == [("taxonomy.yaml", number + 1, "config")]
    assert report.exit_code() == 1


def test_an_interrupted_decision_is_a_warning_that_says_what_finishes_it(root: CatalogRoot) -> None:
    render_root(root)
    write(root.path / ".ingest-journal" / "dpo-2305.18290v2.yaml", "decision:\n  id: dpo-2305.18290v2\n")
    report = check_root(root)
    [problem] = [p for p in report.problems if p.code == "interrupted-decision"]
    assert problem.severity == "warning"
    assert problem.file == ".ingest-journal/dpo-2305.18290v2.yaml"
    assert "dpo-2305.18290v2" in problem.message
    assert "next `ingest review` command" in problem.message
    assert report.exit_code(strict=False) == 0
    assert report.exit_code(strict=True) == 1


def test_min_confidence_given_to_check_decides_low_confidence_both_ways(root: CatalogRoot) -> None:
    render_root(root)
    stored = good_entry(
        "stored",
        "2401.00002",
        evidence={
            # flagged low-confidence at extraction time, with a higher threshold than check's
            "title": FieldEvidence(confidence=0.5, flags=[Flag.low_confidence]),
            "axes.teacher_source": FieldEvidence(confidence=0.9, flags=[Flag.injection_suspect]),
        },
    )
    root.write_entry(stored)
    render_root(root)
    lowered = {p.field: p.flags for p in check_root(root, min_confidence=0).warnings}
    assert lowered == {"axes.teacher_source": ("injection-suspect",)}  # other stored flags still warn
    raised = {p.field: p.flags for p in check_root(root, min_confidence=0.6).warnings}
    assert raised["title"] == ("low-confidence",)
    assert check_root(root, min_confidence=0.45).exit_code(strict=True) == 1  # the injection flag


def test_errors_come_before_the_info_that_refers_to_them(broken: CatalogRoot) -> None:
    (broken.path / "README.md").write_text("# mine\n", encoding="utf-8")
    report = check_root(broken)
    severities = [p.severity for p in report.problems]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error"
    [info] = [p for p in report.problems if p.code == "render-skipped"]
    assert "fix the errors in entries/" in info.message
    assert format_text(report).splitlines()[0].split(": ")[1] == "error"
