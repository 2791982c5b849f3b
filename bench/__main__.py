"""``python -m bench``: run the benchmarks from a checkout (they live in ``nomotic_dsl.bench``)."""

from nomotic_dsl.bench.run import main

main()
