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

from importlib import import_module

from atoms_migrate.cli.root import app

__all__ = ["app", "main"]

# Each module registers its commands on `app` when imported; `--help` lists them in this order.
COMMAND_MODULES = ("agent", "release", "sandbox", "account", "batch", "scan", "status", "verify", "mappings")
for _module in COMMAND_MODULES:
    import_module(f"{__name__}.{_module}")


def main() -> None:
    """The ``atoms-migrate`` console script."""
    app()
