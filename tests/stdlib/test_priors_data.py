"""The priors data file the runtime reads is exactly what the archetype sources compile to."""

from __future__ import annotations

from nomotic_dsl.compiler import priors_data
from nomotic_dsl.runtime.priors import get_archetype, known_archetypes, standard_priors


def test_the_data_file_is_current() -> None:
    assert priors_data.main(["--check"]) == 0, "run python -m nomotic_dsl.compiler.priors_data"


def test_the_runtime_reads_what_the_compiler_writes() -> None:
    compiled = {prior.name: prior for prior in priors_data.compile_priors()}
    assert dict(standard_priors()) == compiled
    assert known_archetypes() == tuple(sorted(compiled))
    assert get_archetype("no-such-archetype") is None


def test_misuse_is_exit_2() -> None:
    assert priors_data.main(["--wrong"]) == 2
