"""``python -m nomotic_dsl`` runs the ``nomo`` command line."""

from nomotic_dsl.cli.main import main

if __name__ == "__main__":
    main()
