"""Entry point for ``python -m atoms_migrate``."""

from atoms_migrate.cli import main

main()
