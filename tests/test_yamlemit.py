"""The fast record writer writes exactly what ruamel writes, or leaves the record to ruamel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalog.store import model_to_yaml_data
from ingest.catalog.yaml12 import dumps_record, parse
from ingest.markdown.importer import bundled_taxonomy, parse_markdown
from ingest.yamlemit import dump_record
from ingest.yamlio import dumps_yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.catalog import synthetic_entry

# Characters that sit on the edges of YAML's rules: indicators, quotes, spaces, line breaks, BOM, non-ASCII.
EDGES = [*list("aZ09 -?:#'\",.[]{}&*!|>%@`/\\()_+=~;é—📄\t\n"), "\xa0", "\u2028", "\x85", "\ufeff", "\x7f"]
words = st.one_of(
    st.text(st.sampled_from(EDGES), max_size=10),
    st.sampled_from(
        ["yes", "No", "2023.06", "1e3", "null", "2024-01-01", "0o7", ".5", "- a", "a:", "_", "...", "--- a"]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(), words)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(words, inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(words, values, min_size=1, max_size=4))
def test_the_fast_writer_writes_what_ruamel_writes_or_nothing(data: dict[str, Any]) -> None:
    fast = dump_record(data)
    if fast is not None:
        assert fast == dumps_yaml(data)
    assert dumps_record(data) == dumps_yaml(data)  # the writer the root uses: fast, or ruamel


def test_the_real_list_and_synthetic_entries_are_written_fast_and_alike(seed_list: Path) -> None:
    taxonomy = bundled_taxonomy()
    result = parse_markdown(seed_list.read_text(encoding="utf-8"), taxonomy, source=seed_list.name)
    records = [*result.entries, *result.exclusions, *(synthetic_entry(taxonomy, i) for i in range(50))]
    datas = [model_to_yaml_data(record) for record in records]
    fast = [dump_record(data) for data in datas]
    assert sum(text is None for text in fast) <= len(datas) // 20  # nearly all take the fast way
    for data, text in zip(datas, fast, strict=True):
        if text is not None:
            assert text == dumps_yaml(data)
            assert parse(text) == data
