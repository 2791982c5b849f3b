"""``python -m nomotic_dsl.flink``, also ``flink run -py nomotic_dsl/flink/__main__.py ...``."""

from nomotic_dsl.flink.cli import main

main(prog_name="python -m nomotic_dsl.flink")
