"""Every rule in a source yields exactly one spec or at least one error: never nothing.

The property runs on thousands of generated programs: ones Hypothesis derives
from the grammar itself (``tests.language.test_fuzz.PROGRAMS``), and
structured ones whose syntax is valid and whose names and values are random
(``tests.fmt.strategies.programs``). For every rule of the AST (at file level
and inside contracts, named or not), the checker either produced exactly one
checked rule for it, or reported at least one error inside its text; when the
whole program compiles, every checked rule lowered to one valid spec. NMO900,
the checker's own "neither" diagnostic, never appears.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.lower import lower_program, lower_rule
from nomotic_dsl.compiler.pipeline import compile_source, result_of, run_stages
from nomotic_dsl.compiler.request import CompileRequest
from nomotic_dsl.compiler.semantics.program import CheckedProgram
from nomotic_dsl.compiler.source import SourceFile
from tests.fmt.strategies import programs
from tests.language.test_fuzz import PROGRAMS

MANY = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _rule_items(module: ast.Module) -> Iterator[tuple[int, ast.InvariantDecl | ast.Rule]]:
    """(where, item) for every rule of a file: -1 at file level, else where its contract starts.

    Pack members are templates (they become invariants where a contract uses
    them), and a `use` of a named invariant is that invariant again, so
    neither is counted here.
    """
    for statement in module.statements:
        if isinstance(statement, ast.ContractDecl):
            for item in statement.items:
                if isinstance(item, ast.InvariantDecl) or ast.is_rule(item):
                    yield statement.span.start, item  # type: ignore[misc]
        elif isinstance(statement, ast.InvariantDecl) or ast.is_rule(statement):
            yield -1, statement  # type: ignore[misc]


def account_for_every_rule(text: str) -> tuple[int, int]:
    """Check the property on ``text``; (rules with a spec, rules with errors)."""
    request = CompileRequest(SourceFile("gen.nomo", text))
    checked: CheckedProgram = run_stages(request, last="check")
    result = result_of(lower_program(checked))
    assert "NMO900" not in {d.code for d in result.diagnostics}, result.render()
    root = checked.loaded.root
    if root.module is None:
        return 0, 0
    rules = [*checked.file_rules, *(rule for c in checked.contracts for rule in c.rules)]
    places = [(-1, checked.file_rules)] + [
        (c.span.start, c.rules) for c in checked.contracts if c.source.name == "gen.nomo"
    ]
    by_node: dict[tuple[int, int], int] = {}
    for place, found in places:
        for rule in found:
            key = (place, id(rule.rule))
            by_node[key] = by_node.get(key, 0) + 1
    error_starts = [
        d.span.start for d in checked.diagnostics if d.is_error and d.file == "gen.nomo"
    ]
    with_spec = with_errors = 0
    for place, item in _rule_items(root.module):
        rule = item.rule if isinstance(item, ast.InvariantDecl) else item
        specs = by_node.get((place, id(rule)), 0)
        errors = sum(1 for start in error_starts if item.span.start <= start < item.span.end)
        assert specs <= 1, f"{specs} specs for one rule in {text!r}"
        assert specs == 1 or errors >= 1, f"neither a spec nor an error for {rule} in {text!r}"
        with_spec += specs
        with_errors += specs == 0
    if result.ok:
        lowered = [lower_rule(rule) for rule in rules]
        assert all(spec.validate() == [] for spec in lowered)
        assert len(result.invariants) == len({spec.invariant_id for spec in lowered})
    return with_spec, with_errors


@MANY
@given(PROGRAMS)
def test_grammar_generated_programs_account_for_every_rule(text: str) -> None:
    account_for_every_rule(text)


@MANY
@given(programs(comments_inside=False))
def test_structured_programs_account_for_every_rule(text: str) -> None:
    account_for_every_rule(text)


def test_the_rules_that_used_to_vanish_are_accounted_for() -> None:
    for window in ("50%", "baseline", "2x baseline", "5 per minute"):
        text = (
            'contract "bot" {\n'
            "    scope { actions read, write }\n"
            "    ratio write/read < 0.3 over 100 actions\n"
            f"    count distinct_targets <= 5 over {window}\n"
            "}\n"
        )
        assert account_for_every_rule(text) == (1, 1)
        assert not compile_source(text).ok


def test_a_rule_using_a_broken_constant_is_an_error_at_the_rule() -> None:
    # Found by Hypothesis: the declaration's error was reported, the rule's was not.
    for text in ("const AAA = A  ratio a/a < AAA  ", "const A = B\nconst B = A\nratio a/b < A"):
        assert account_for_every_rule(text) == (0, 1)
        messages = [d.message for d in compile_source(text).diagnostics]
        assert any("has no value: its declaration has a problem" in m for m in messages)


def test_one_invariant_written_twice_is_an_error_even_when_both_read_the_same() -> None:
    # Found by Hypothesis: the second of two identical declarations vanished.
    text = 'contract "x" {\n  invariant a: temporal 6-0 < 0\n  invariant a: temporal 6-0 < 0\n}\n'
    assert account_for_every_rule(text) == (1, 1)
    codes = [d.code for d in compile_source(text).diagnostics if d.is_error]
    assert codes == ["NMO207"]


def test_a_clean_program_gives_one_spec_per_rule() -> None:
    text = (
        "ratio write/read < 0.3 over 100 actions\n"
        "count distinct_targets <= 5 over 10 minutes\n"
        "rate < 30 per minute over 1 hour\n"
        'contract "bot" {\n'
        "    scope { actions read, write }\n"
        "    invariant few_writes: ratio write/read < 0.5 over 50 actions\n"
        "    no single target above 60%\n"
        "}\n"
    )
    assert account_for_every_rule(text) == (5, 0)
    assert len(compile_source(text).invariants) == 5
