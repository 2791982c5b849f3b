"""``python -m bench``: run the benchmarks from a checkout (they live in ``nomotic_dsl.bench``)."""

from pathlib import Path

from nomotic_dsl.bench.run import main

main(
    prog="python -m bench",
    default_output=Path(__file__).resolve().parent / "results" / "latest.json",
    offer_load=True,
)
