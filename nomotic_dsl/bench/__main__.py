"""``python -m nomotic_dsl.bench``: the same as ``nomo bench``."""

from nomotic_dsl.bench.run import main

main(prog="python -m nomotic_dsl.bench")
