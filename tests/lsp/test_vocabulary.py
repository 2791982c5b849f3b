"""What completion offers is what the checker accepts: each word is compiled here.

The tables are read from the compiler (``ir/spec.py``, ``DURATION_UNITS``,
``TRUST_KEYS``, the grammar, the standard library); these tests fail when a
table and the checker part ways, or when a new invariant type has no metric
table and no snippet.
"""

from __future__ import annotations

import pytest

from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS
from nomotic_dsl.ir.spec import INVARIANT_TYPES, InvariantSpec
from nomotic_dsl.lsp import vocabulary
from nomotic_dsl.lsp.analysis import analyse
from nomotic_dsl.lsp.completion import complete
from nomotic_dsl.lsp.lexer import keyword_terminals

# Types whose metric the author writes (actions, an anchor term, hours): no table.
OPEN_METRICS = {"ratio", "semantic", "temporal"}


def _clean(text: str) -> None:
    result = compile_source(text, "vocabulary.nomo")
    assert result.ok, result.render()


def test_every_type_has_a_metric_table_or_is_open() -> None:
    tables = vocabulary.metrics_by_type()
    for kind in INVARIANT_TYPES:
        assert kind in tables or kind in OPEN_METRICS, (
            f"invariant type {kind!r} has no `{kind.upper()}_METRICS` table in ir/spec.py"
        )
    for kind, metrics in tables.items():
        assert metrics
        bogus = InvariantSpec("x", kind, "", "no_such_metric", "lt", 0.5)
        assert bogus.validate(), f"{kind} accepts any metric, so it should not have a table"


@pytest.mark.parametrize(
    ("kind", "metric"),
    [(k, m) for k, ms in vocabulary.metrics_by_type().items() for m in ms],
)
def test_every_offered_metric_compiles(kind: str, metric: str) -> None:
    # Rate metrics read a time window (a growth rate needs one); every other kind stands alone.
    window = " over 1h" if kind == "rate" else ""
    _clean(f"{kind} {metric} <= 1{window}\n")


def test_subjects_trust_and_drift_keys_compile() -> None:
    for subject in vocabulary.distinct_subjects():
        _clean(f"at most 5 distinct {subject}\n")
    for subject in vocabulary.single_subjects():
        _clean(f"no single {subject} above 60%\n")
    settings = " ".join(f"{key} 0.5" for key in vocabulary.trust_keys())
    drift = " ".join(f"{key} 0.2" for key in vocabulary.drift_keys())
    _clean(f'contract "c" {{ trust {{ {settings} }} drift thresholds {{ {drift} }} }}\n')
    for key in vocabulary.drift_keys():
        _clean(f"drift {key} < 0.2\n")


@pytest.mark.parametrize("unit", vocabulary.duration_units())
def test_every_offered_unit_compiles(unit: str) -> None:
    _clean(f"rate < 1 over 5{unit}\n")


@pytest.mark.parametrize("path", vocabulary.stdlib_imports())
def test_every_offered_import_loads(path: str) -> None:
    _clean(f'import "{path}"\n')


def test_every_offered_archetype_can_be_named() -> None:
    for name in vocabulary.stdlib_archetypes():
        _clean(f'contract "c" {{ archetype {name} }}\n')


_CONTRACT = 'contract "c" {{\n    archetype customer-experience\n    anchor "term" {{ actions read }}\n    {}\n}}\n'


@pytest.mark.parametrize("snippet", vocabulary.rule_snippets(), ids=lambda s: s.label)
def test_every_rule_snippet_compiles_in_a_contract(snippet: vocabulary.Snippet) -> None:
    _clean(_CONTRACT.format(vocabulary.snippet_example(snippet.body)))


@pytest.mark.parametrize("snippet", vocabulary.declaration_snippets(), ids=lambda s: s.label)
def test_every_declaration_snippet_compiles(snippet: vocabulary.Snippet) -> None:
    _clean(vocabulary.snippet_example(snippet.body) + "\n")


@pytest.mark.parametrize("snippet", vocabulary.contract_snippets(), ids=lambda s: s.label)
def test_every_contract_snippet_compiles(snippet: vocabulary.Snippet) -> None:
    body = vocabulary.snippet_example(snippet.body)
    scope = "" if body.startswith("scope") else "    scope { actions read targets tickets }\n"
    _clean(f'contract "c" {{\n{scope}{body}\n}}\n')


def test_every_invariant_type_has_a_rule_snippet() -> None:
    assert {snippet.kind for snippet in vocabulary.rule_snippets()} >= set(INVARIANT_TYPES)


def test_keywords_offered_are_the_grammars() -> None:
    assert set(keyword_terminals().values()) == set(KEYWORDS)
    analysis = analyse("", None)
    words = {item.label.split(" ")[0] for item in complete(analysis, 0)}
    assert words & set(KEYWORDS) >= {"import", "const", "contract", "pack", "no", "at"}


def test_phrases_come_from_the_grammar() -> None:
    analysis = analyse("", None)
    labels = {item.label for item in complete(analysis, 0)}
    assert {"at most", "at least", "no single", "no activity", "fidelity of"} <= labels
