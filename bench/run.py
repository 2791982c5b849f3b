"""The benchmarks moved into the package (``nomotic_dsl.bench``); this name keeps old commands working."""

from nomotic_dsl.bench.run import main

if __name__ == "__main__":
    main()
