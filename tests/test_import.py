"""import-markdown on the real AwesomeOPD list, on a later real version of it, and on broken input."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pytest

from ingest.catalog.store import CatalogRoot, bundled, read_model
from ingest.errors import UsageError
from ingest.markdown.importer import ImportResult, import_markdown, parse_markdown
from ingest.markdown.strictness import note_verdicts
from ingest.models import Entry, Kind, LinkKind
from ingest.taxonomy import Taxonomy, load_taxonomy

LATER = Path(__file__).parent / "fixtures" / "awesomeopd-later"
REPO = Path(__file__).resolve().parents[1]
TABLE_ROWS = [7, 17, 3, 13, 2, 17, 3, 7, 9, 11, 11, 13]


@lru_cache(maxsize=4)
def _taxonomy(path: str) -> Taxonomy:
    return load_taxonomy(Path(path))


@lru_cache(maxsize=4)
def _parse(path: str, keep_prose: bool) -> ImportResult:
    # Parsing is pure and the inputs are read-only files: parse each once per session.
    text = Path(path).read_text(encoding="utf-8")
    return parse_markdown(
        text, _taxonomy(str(bundled("taxonomy.yaml"))), source="README.md", keep_prose=keep_prose
    )


@pytest.fixture
def real(seed_list: Path) -> ImportResult:
    return _parse(str(seed_list), False)


@pytest.fixture
def real_prose(seed_list: Path) -> ImportResult:
    return _parse(str(seed_list), True)


def by_arxiv(result: ImportResult, arxiv_id: str) -> list[Entry]:
    return [e for e in result.entries if arxiv_id in e.arxiv_ids]


def one(result: ImportResult, arxiv_id: str) -> Entry:
    found = by_arxiv(result, arxiv_id)
    assert len(found) == 1, [e.id for e in found]
    return found[0]


def named(result: ImportResult, name: str) -> Entry:
    found = [e for e in result.entries if e.name == name]
    assert len(found) == 1, [e.id for e in found]
    return found[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- the real list ------------------------------------------------------------------------------------------


def test_every_row_of_every_main_table_is_read(real: ImportResult) -> None:
    assert list(real.rows_by_section.values()) == TABLE_ROWS
    assert sum(real.rows_by_section.values()) == 113
    assert list(real.rows_by_section) == [s.id for s in _taxonomy(str(bundled("taxonomy.yaml"))).sections]
    # 113 rows, four of them cross-lists of a resource already seen
    assert len(real.entries) == 109
    assert len({e.id for e in real.entries}) == 109
    assert not [p for p in real.problems if "was skipped" in p.message]


def test_cross_listed_resources_are_one_entry_with_several_sections(real: ImportResult) -> None:
    assert one(real, "2604.13016").sections == ["surveys", "reasoning"]  # THUNLP OPD
    assert one(real, "2602.12125").sections == ["white-box", "reasoning"]  # G-OPD
    assert one(real, "2603.10165").sections == ["opd-rl", "agent"]  # OpenClaw-RL
    skill_sd = one(real, "2604.10674")
    assert skill_sd.sections == ["opsd", "agent"]
    assert skill_sd.url == "https://skill-sd.github.io/"  # the primary (first seen) row wins


def test_one_repository_behind_two_papers_stays_two_entries(real: ImportResult) -> None:
    paced, tip = one(real, "2603.11178"), one(real, "2604.14084")
    repo = "https://github.com/HJSang/OPSD_OnPolicyDistillation"
    assert paced.url == tip.url == repo
    assert paced.id != tip.id
    assert (paced.title, tip.title) == ("PACED", "TIP")
    assert paced.org == "LinkedIn"
    assert tip.org == "Meta / LinkedIn"


def test_links_ids_badges_and_dates_are_recovered(real: ImportResult) -> None:
    rstar = named(real, "rStar")
    assert rstar.arxiv_ids == ["2501.04519", "2508.20722"]
    assert [link.label for link in rstar.links] == ["rStar-Math 2501.04519", "rStar2-Agent 2508.20722"]
    opsd = named(real, "OPSD")
    assert opsd.stars_repo == "siyan-zhao/OPSD"
    assert not opsd.paper_only
    assert [(link.kind, link.label) for link in opsd.links] == [
        (LinkKind.arxiv, "arXiv 2601.18734"),
        (LinkKind.blog, "blog"),
    ]
    gkd = named(real, "GKD")
    assert gkd.paper_only
    assert gkd.stars_repo is None
    assert [link.kind for link in gkd.links] == [LinkKind.arxiv, LinkKind.code]
    assert named(real, "Healthcare AI GYM").stars_repo == "minstar/Healthcare_GYM"
    llm4teach = named(real, "LLM4Teach")
    assert (llm4teach.date, llm4teach.updated) == ("2023.11", 2025)
    assert named(real, "ms-swift").date == "2024"
    vla = named(real, "VLA-OPD")
    assert [link.kind for link in vla.links] == [LinkKind.arxiv, LinkKind.project]
    assert named(real, "EAGLE").arxiv_ids == ["2503.01840"]
    assert all(link.arxiv_id is None or "v" not in link.arxiv_id for e in real.entries for link in e.links)


def test_kinds_and_axes(real: ImportResult) -> None:
    assert named(real, "verl").kind == Kind.framework
    assert named(real, "Qwen3").kind == Kind.report
    assert named(real, "Blog").kind == Kind.blog
    assert named(real, "tinker-cookbook").kind == Kind.repository
    assert named(real, "GKD").kind == Kind.paper
    axes = {a.id for a in _taxonomy(str(bundled("taxonomy.yaml"))).axes}
    assert all(set(e.axes) == axes for e in real.entries)


def test_axes_inferred_from_the_list_meet_the_goals_with_evidence(
    real: ImportResult, seed_list: Path
) -> None:
    lines = seed_list.read_text(encoding="utf-8").splitlines()
    papers = [e for e in real.entries if e.kind == Kind.paper]
    share: dict[str, float] = {}
    for axis in ("teacher_source", "supervision_signal", "rollout_consumption", "pipeline_slot"):
        known = [e for e in papers if e.axes[axis] != ["unknown"]]
        share[axis] = len(known) / len(papers)
        print(f"{axis}: known for {len(known)}/{len(papers)} paper entries ({100 * share[axis]:.1f}%)")
        for e in known:  # every inferred value quotes the list's own words at their line
            ev = e.evidence[f"axes.{axis}"]
            assert ev.note == "inferred from the list", e.id
            assert ev.list_quotes, e.id
            for q in ev.list_quotes:
                assert q.file == "README.md"
                assert q.rule
                assert q.text.split(": ", 1)[-1] in lines[q.line - 1], (e.id, q)
        for e in papers:
            if e.axes[axis] == ["unknown"]:
                assert f"axes.{axis}" not in e.evidence
    assert share["teacher_source"] >= 0.90
    assert share["supervision_signal"] >= 0.70
    # Domain spot checks: the section says it, a cell refines it, the list's own exceptions are respected.
    assert named(real, "OPSD").axes["teacher_source"] == ["privileged-context"]
    assert named(real, "SPIN").axes["teacher_source"] == ["earlier-checkpoint"]
    assert named(real, "LMOps /gad").axes["supervision_signal"] == ["discriminator"]
    assert named(real, "OVD").axes["supervision_signal"] == ["verbal-score"]
    assert named(real, "Fast OPD").axes["rollout_consumption"] == ["truncated"]
    assert named(real, "DistillSpec").axes["pipeline_slot"] == ["compression"]
    assert named(real, "ml-ssd").axes["supervision_signal"] == ["unknown"]  # no teacher KL: nothing implied
    paced = one(real, "2603.11178")
    assert paced.axes["teacher_source"] == ["unknown"]  # White-Box, but the list calls it self-distill style
    assert one(real, "2604.00626").axes["teacher_source"] == ["n/a"]  # a survey


def test_technical_details_are_joined_by_name(real: ImportResult) -> None:
    falcon = named(real, "Falcon")
    assert falcon.details["speculative-decoding"] == {
        "Method": "Falcon",
        "Drafter type": "Draft-model (semi-AR)",
        "On-/Off-policy": "Partial on-policy (glancing uses draft samples)",
        "Loss": "Glancing CE + KD",
    }
    assert named(real, "LMOps /minillm").details["white-box"]["Method"] == "MiniLLM"
    assert one(real, "2603.11178").details["white-box"]["Method"] == "PACED"
    assert one(real, "2604.14084").details["white-box"]["Method"] == "TIP"
    thunlp = one(real, "2604.13016")
    assert thunlp.details["surveys"]["Resource"] == "THUNLP Rethinking OPD"
    assert thunlp.details["reasoning"]["Base / Benchmark"] == "Math reasoning"
    assert named(real, "gemma").details["industrial"]["Stage(s) using OPD"] == "Post-training"
    # 113 rows less the 2 of Iterative (no details table), tinker-cookbook and G-OPD-in-Reasoning (no row) and
    # Skill-SD-in-Agent (its row is glued to VLA-OPD's line in the source, reported at line 384)
    assert sum(len(e.details) for e in real.entries) == 108
    assert {p.line for p in real.problems} == {384, 523}


def test_strictness_notes_set_the_verdicts(real: ImportResult) -> None:
    def verdict(e: Entry) -> tuple[str, str]:
        return e.verdicts["c1"].value, e.verdicts["c2"].value

    assert verdict(named(real, "Lightning OPD")) == ("partial", "yes")  # "partially satisfies C1"
    assert verdict(named(real, "Falcon")) == ("partial", "yes")  # "**HASS, Falcon** — Partial on-policy"
    assert verdict(named(real, "HASS")) == ("partial", "yes")
    assert verdict(named(real, "ml-ssd")) == ("yes", "partial")  # "C2 is degenerate"
    assert verdict(named(real, "SPIN")) == ("yes", "partial")  # "C1 ✓ … but C2 fails strict … form"
    assert verdict(named(real, "LUFFY")) == ("partial", "yes")  # "C1+C2 ✓ … C1 ✗ on the off-policy half"
    assert verdict(named(real, "BOND")) == verdict(named(real, "Faster WIND")) == ("yes", "partial")
    assert verdict(named(real, "ExGRPO")) == ("yes", "partial")  # "KEPO, Open-AgentRL, Probing-to-Refine"
    assert verdict(named(real, "rStar")) == ("yes", "partial")  # unmarked ⚠️: keyword rule
    assert verdict(named(real, "SD-Zero")) == ("yes", "yes")  # "C1 ✓ …, C2 ✓"
    assert verdict(named(real, "GLM-4.5")) == ("yes", "partial")
    assert verdict(named(real, "OPD-AVMP")) == ("yes", "yes")  # a section without notes
    flagged = [e for e in real.entries if verdict(e) != ("yes", "yes")]
    assert len(flagged) == 19


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("C1: partial · C2: yes", ("partial", "yes")),
        ("⚠️ C1 no · C2 partial", ("no", "partial")),
        ("⚠️ something is off with the teacher signal", ("yes", "partial")),
        ("⚠️ mixed: off-policy traces next to on-policy rollouts", ("partial", "yes")),
        ("analysis only; no verdict", ("yes", "yes")),
    ],
)
def test_verdict_rules_on_note_text(note: str, expected: tuple[str, str]) -> None:
    criteria = _taxonomy(str(bundled("taxonomy.yaml"))).criteria
    values = note_verdicts(note, criteria)
    assert (values["c1"], values["c2"]) == expected


def test_facts_only_by_default_and_prose_on_request(real: ImportResult, real_prose: ImportResult) -> None:
    lightning, lightning_prose = named(real, "Lightning OPD"), named(real_prose, "Lightning OPD")
    assert lightning.verdicts["c1"].note is None
    assert "offline OPD" in (lightning_prose.verdicts["c1"].note or "")
    assert lightning.verdicts == {
        k: v.model_copy(update={"note": None}) for k, v in lightning_prose.verdicts.items()
    }
    prose_columns = {"Notes", "Mechanism"}
    assert not any(prose_columns & set(cols) for e in real.entries for cols in e.details.values())
    assert all(e.notes is None for e in real.entries)
    qwen3 = named(real_prose, "Qwen3")
    assert "two-phase" in qwen3.details["industrial"]["Mechanism"].lower()
    assert "cheaper than RL" in qwen3.details["industrial"]["Notes"]
    assert named(real_prose, "OpenClaw-RL").notes == "combines GRPO + OPD"  # the free part of Title / Notes
    assert named(real, "OpenClaw-RL").title == named(real_prose, "OpenClaw-RL").title == "OpenClaw-RL"


# --- files ------------------------------------------------------------------------------------------------


def test_import_writes_a_root_and_reimport_is_byte_identical(seed_list: Path, tmp_path: Path) -> None:
    root = CatalogRoot(tmp_path / "catalog")
    first = import_markdown(root, seed_list)
    assert root.taxonomy_path.is_file()
    assert root.config_path.is_file()
    files = {p.name: p.read_bytes() for p in root.files(root.entries_dir)}
    assert sorted(files) == sorted(f"{e.id}.yaml" for e in first.entries)
    second = import_markdown(root, seed_list)
    assert {p.name: p.read_bytes() for p in root.files(root.entries_dir)} == files
    assert [e.id for e in second.entries] == [e.id for e in first.entries]
    assert root.entries() == {e.id: e for e in first.entries}
    text = files["lightning-opd.yaml"].decode()
    assert "partial" in text
    assert "pre-computed" not in text
    assert "file: README.md" in text


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        import_markdown(CatalogRoot(tmp_path / "root"), tmp_path / "nope.md")


def test_bad_rows_and_unknown_headings_are_reported_and_the_rest_imports(seed_list: Path) -> None:
    text = seed_list.read_text(encoding="utf-8")
    veto = next(line for line in text.splitlines() if line.startswith("| [Veto]"))
    broken = text.replace(veto, veto.replace(" | SNU", ""))
    table = "| Resource | Date |\n| :--: | :--: |\n| [X](https://x.org) | 2026.01 |\n\n"
    new_section = f"## 🧪 Something Nobody Mapped\n\n{table}"
    broken = broken.replace("## 🤝 Contributing", new_section + "## 🤝 Contributing")
    result = parse_markdown(broken, _taxonomy(str(bundled("taxonomy.yaml"))), source="README.md")
    problems = {p.line: p.message for p in result.problems}
    assert "5 cells" in problems[line_of(broken, "| [Veto]")]
    assert "missing cells empty" in problems[line_of(broken, "| [Veto]")]
    assert "Something Nobody Mapped" in problems[line_of(broken, "## 🧪 Something Nobody Mapped")]
    # GFM pads a short row with empty cells: the row is read as GitHub shows it, not dropped.
    assert result.rows_by_section["white-box"] == 17
    assert sum(result.rows_by_section.values()) == 113
    veto = named(result, "Veto")
    assert (veto.org, veto.title) == ("arXiv 2601.07155", None)  # the cells after the gap shift left
    assert len(result.entries) == 109


def test_extra_cells_are_ignored_with_a_warning(real: ImportResult, seed_list: Path) -> None:
    text = seed_list.read_text(encoding="utf-8")
    problems = {p.line: p.message for p in real.problems}
    line = line_of(text, "| **Nemotron Cascade 2** |")  # an unescaped '|' in 'π_inf(·|x)'
    assert "only the first 4 were read" in problems[line]


def test_a_later_version_with_a_short_row_imports_every_row() -> None:
    text = (LATER / "README.md").read_text(encoding="utf-8")
    row = next(ln for ln in text.splitlines() if ln.startswith("| [RUCBM/G-OPD]"))
    short = row.rstrip().rstrip("|").rsplit("|", 1)[0] + "|"  # the row loses its last cell
    assert short.count("|") == row.count("|") - 1
    taxonomy = _taxonomy(str(LATER / "taxonomy.yaml"))
    result = parse_markdown(text.replace(row, short), taxonomy, source="README.md")
    full = parse_markdown(text, _taxonomy(str(LATER / "taxonomy.yaml")), source="README.md")
    print(f"rows read: {sum(result.rows_by_section.values())} of {sum(full.rows_by_section.values())}")
    assert result.rows_by_section == full.rows_by_section
    assert len(result.entries) == len(full.entries)
    [problem] = [p for p in result.problems if p.line == line_of(text, "| [RUCBM/G-OPD]")]
    assert "missing cells empty" in problem.message
    gopd = next(e for e in result.entries if e.name == "RUCBM/G-OPD")
    assert gopd.date == "2026.02"
    assert not gopd.links  # its Paper cell is the one missing


def test_committed_catalog_keeps_facts_only() -> None:
    entries = sorted((REPO / "entries").glob("*.yaml"))
    if not entries:
        pytest.skip("the repository root has no imported entries/ yet")
    taxonomy = load_taxonomy(REPO / "taxonomy.yaml")
    prose = {c.name for s in taxonomy.sections for c in s.details if c.prose}
    for path in entries:
        entry = read_model(path, Entry)
        assert entry.notes is None, path
        assert all(v.note is None for v in entry.verdicts.values()), path
        assert not any(prose & set(cols) for cols in entry.details.values()), path


# --- a later, differently structured version of the list ---------------------------------------------------


def test_later_version_with_the_bundled_taxonomy_reports_what_it_cannot_place() -> None:
    text = (LATER / "README.md").read_text(encoding="utf-8")
    result = parse_markdown(text, _taxonomy(str(bundled("taxonomy.yaml"))), source="README.md")
    lines = {p.line for p in result.problems if "matches no section" in p.message}
    for heading in (
        "### Q1 — Who plays",
        "### Q2 — What signal",
        "### Off-policy logit / loss-function KD",
        "### Production reports without",
        "### Analysis-only / position papers",
    ):
        assert line_of(text, heading) in lines, heading
    assert not result.exclusions
    assert result.rows_by_section["white-box"] == 5
    assert one(result, "2603.10165").sections == ["opd-rl", "agent"]


def test_later_version_imports_fully_with_its_own_taxonomy(tmp_path: Path) -> None:
    root = CatalogRoot(tmp_path / "later")
    root.path.mkdir()
    shutil.copyfile(LATER / "taxonomy.yaml", root.taxonomy_path)
    result = import_markdown(root, LATER / "README.md")
    assert result.problems == []
    assert result.rows_by_section == {
        "surveys": 4,
        "white-box": 5,
        "opsd": 3,
        "iterative": 2,
        "opd-rl": 3,
        "agent": 3,
        "frameworks": 3,
        "industrial": 4,
        "off-policy-kd": 8,
    }
    assert len(result.entries) == 26  # 27 rows, OpenClaw-RL cross-listed
    buckets = {x.bucket for x in result.exclusions}
    assert buckets == {
        "Off-policy logit / loss-function KD (no student rollouts)",
        "Production reports without strict OPD evidence",
        "Analysis-only / position papers (no algorithm)",
    }
    written = {x.id: x for x in root.exclusions()}
    assert len(written) == 8
    dskd = next(x for x in written.values() if x.arxiv_id == "2406.17328")
    assert (dskd.name, dskd.url) == ("songmzhang/DSKD", "https://github.com/songmzhang/DSKD")
    assert next(x for x in written.values() if x.arxiv_id == "2505.14216").title == "RL vs. Distillation"
    minillm = one(result, "2306.08543")
    assert (minillm.name, minillm.title, minillm.stars_repo) == (
        "microsoft/LMOps /minillm",
        "MiniLLM",
        "microsoft/LMOps",
    )
    assert one(result, "2603.11178").paper_only
    assert one(result, "2311.13373").updated == 2025
    assert one(result, "2604.13010").verdicts["c1"].value == "partial"  # a block-quoted strictness note
    # the heading tags of this version say the teacher source
    spin = one(result, "2401.01335")
    assert spin.axes["teacher_source"] == ["earlier-checkpoint"]
    [quote] = spin.evidence["axes.teacher_source"].list_quotes
    assert (quote.text, quote.rule) == ("🔁 Iterative Self-Bootstrapping (Q1=C)", "q1-c")
    assert one(result, "2601.18734").axes["teacher_source"] == ["privileged-context"]
    assert minillm.axes["teacher_source"] == ["external"]
    gemma2, gemma3 = one(result, "2408.00118"), one(result, "2503.19786")
    assert gemma2.url == gemma3.url
    assert gemma2.id != gemma3.id
    assert (gemma2.title, gemma2.kind) == ("Gemma 2", Kind.report)


# --- a reshaped list, read with a taxonomy written from docs/TAXONOMY.md ----------------------------------

RESHAPED = Path(__file__).parent / "fixtures" / "reshaped"


def test_a_reshaped_list_imports_with_a_taxonomy_written_from_the_docs(tmp_path: Path) -> None:
    from ingest.config import RenderConfig
    from ingest.markdown.render import render_catalog

    root = CatalogRoot(tmp_path / "reshaped")
    root.path.mkdir()
    shutil.copyfile(RESHAPED / "taxonomy.yaml", root.taxonomy_path)
    text = (RESHAPED / "README.md").read_text(encoding="utf-8")
    result = import_markdown(root, RESHAPED / "README.md")
    # the one thing the list really has wrong: a short row, read as GitHub shows it
    assert [(p.line, "missing cells empty" in p.message) for p in result.problems] == [
        (line_of(text, "| [Fast OPD]"), True)
    ]
    assert result.rows_by_section == {"logit": 3, "hints": 1, "trainers": 1, "reports": 1, "not-on-policy": 2}
    fast = named(result, "Fast OPD")  # its Paper cell is the missing one; the name links to arXiv
    assert (fast.date, fast.org, fast.title) == ("2026.02", "Industrial", "prefix-truncated")
    assert fast.paper_only
    # detail rows joined by the head of the title and by the repository's own name
    revisiting = one(result, "2603.25562")
    assert revisiting.details["logit"]["Token Granularity"] == "Token (filtered)"
    trl = named(result, "huggingface/trl")
    assert (trl.kind, trl.details["trainers"]["KL Direction(s)"]) == (Kind.framework, "FKL, RKL, GJSD")
    # a bold name with a gloss, and a second link column (the repository next to the paper)
    qwen = one(result, "2505.09388")
    assert (qwen.name, qwen.title, qwen.kind) == ("Qwen3", "canonical OPD recipe", Kind.report)
    assert [link.kind for link in qwen.links] == [LinkKind.code, LinkKind.arxiv]
    # axes from the heading tags and the renamed detail columns
    assert fast.axes == {
        "teacher_source": ["external"],
        "supervision_signal": ["logits"],
        "rollout_consumption": ["truncated"],
    }
    assert one(result, "2601.18734").axes["teacher_source"] == ["privileged-context"]
    assert fast.evidence["axes.teacher_source"].list_quotes[0].text == "🧪 Teacher-Logit Methods (Q1=A)"
    assert {(x.title, x.bucket) for x in result.exclusions} == {
        ("MiniPLM", "Off-policy KD"),
        ("RL vs. Distillation", "Analysis only"),
    }
    # the list renders back in its own layout and re-imports to the same facts
    taxonomy = root.taxonomy
    rendered = render_catalog(taxonomy, result.entries, result.exclusions, config=RenderConfig())
    assert "| Model | Repo | ⭐ Stars | Released | Affiliation | Paper |" in rendered
    assert "| Qwen3 (canonical OPD recipe) | [QwenLM/Qwen3](https://github.com/QwenLM/Qwen3) |" in rendered
    again = parse_markdown(rendered, taxonomy, source="README.md")
    assert again.problems == []

    def facts(entries: list[Entry]) -> list[dict[str, object]]:
        return [e.model_dump(exclude={"evidence"}) for e in sorted(entries, key=lambda e: e.id)]

    assert facts(again.entries) == facts(result.entries)
    assert sorted(x.id for x in again.exclusions) == sorted(x.id for x in result.exclusions)
