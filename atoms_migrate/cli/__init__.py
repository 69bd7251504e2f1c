"""The command line: the only layer that reads the environment, talks to the terminal and picks exit codes.

This module only registers the commands: importing each command module below adds its commands to ``app``
(``cli/root.py``). A command parses its options, builds ``Settings`` and the clients, calls the core, renders
what it returns and picks the exit code; migration logic belongs in the core packages.

- ``agent`` (one agent) · ``batch`` (``all``, ``apply``) · ``release`` (``promote``, ``rollback``) ·
  ``status`` · ``scan`` · ``verify`` · ``account`` (``doctor``, ``voices``) · ``sandbox`` · ``mappings``
  (``mappings check``);
- shared by them: ``root`` (the typer app), ``options`` (option declarations), ``boundary`` (the one error
  boundary and secret scrubbing), ``clients`` (vendor clients from keys and URLs), ``context`` (options to the
  core's inputs), ``output`` (consoles, files, reports, confirmations).

New command: a module here that registers on ``root.app``, imported below.
"""

from __future__ import annotations

from atoms_migrate.cli.root import app

# Each module registers its commands on `app` when imported; `--help` lists them in this order (hence isort: off).
# Plain imports, not import_module on names, so the import-layer contracts (lint-imports) see them.
# isort: off
from atoms_migrate.cli import agent as agent
from atoms_migrate.cli import release as release
from atoms_migrate.cli import sandbox as sandbox
from atoms_migrate.cli import account as account
from atoms_migrate.cli import batch as batch
from atoms_migrate.cli import scan as scan
from atoms_migrate.cli import status as status
from atoms_migrate.cli import verify as verify
from atoms_migrate.cli import mappings as mappings

# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """The ``atoms-migrate`` console script."""
    app()
