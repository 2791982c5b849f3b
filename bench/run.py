"""The benchmarks moved into the package (``nomotic_dsl.bench``); this name keeps old commands working."""

from pathlib import Path

from nomotic_dsl.bench.run import main

if __name__ == "__main__":
    main(
        prog="python bench/run.py",
        default_output=Path(__file__).resolve().parent / "results" / "latest.json",
        offer_load=True,
    )
